package ioasid.runtime.impl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;

/**
 * One version of a file in deploy/: its size, time and file key (the inode on Linux), and the
 * SHA-256 of its bytes when they were read. The attributes alone miss a rewrite of the same size
 * within one tick of the file system's clock; the digest alone misses a touch, which an operator
 * may use to have a file read again. Two reports of one version are one change.
 */
record FileStamp(long size, FileTime time, Object fileKey, String digest) {

    /** The attributes, read before the bytes: a change in between then shows as a new version. */
    static BasicFileAttributes attributes(Path file) throws IOException {
        return Files.readAttributes(file, BasicFileAttributes.class);
    }

    static FileStamp of(BasicFileAttributes a, byte[] bytes) {
        return new FileStamp(a.size(), a.lastModifiedTime(), a.fileKey(),
                bytes == null ? null : JarIdentity.sha256(bytes));
    }
}
