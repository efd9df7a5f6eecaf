package ioasid.runtime.impl;

import java.io.File;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.felix.fileinstall.ArtifactInstaller;

/*
 * Hands deploy/'s changes to its installers as the operating system reports them (inotify on
 * Linux), so that a jar copied in is acted on some 50 ms after the copy's end.
 * FileInstall acts on a change only when two of its polls in a row have seen the file unchanged:
 * one to two poll periods after the copy. It keeps polling, as the safety net for what
 * notifications miss (a file system that does not send them, a lost notification); the
 * installers do nothing when asked twice about one version of a file, so the two never repeat
 * each other's work (point 5 of BundleInstaller's rules).
 *
 * Rules:
 *  1. A file is handed over once nothing has been reported about it for its quiet time: a copy,
 *     a save or a replacement arrives as a burst of notifications, and a burst is one change. A
 *     configuration needs the longer quiet time: a jar can prove itself whole (2), a
 *     configuration cannot, and one cut short may still parse.
 *  2. A jar is handed over when it opens whole as a zip. A jar written without a rename is
 *     reported while it is written, and a partial one has no central directory: it is left
 *     alone until it changes again. One that stays broken for the settle time is handed over
 *     all the same, so that its installer names it in a line.
 *  3. A file that is there is installed and one that is gone is uninstalled; what that means
 *     (install, update, nothing) the installer decides from the file as it is at that moment.
 *  4. Only the files directly in the folder that an installer takes are watched; everything
 *     else, sub-folders included, stays FileInstall's.
 *  5. When notifications were lost (overflow), or the folder comes back after it was gone,
 *     every file in it and every file seen before is looked at again. While the folder cannot
 *     be watched, registration is tried again every RETRY_MS and FileInstall's poll serves.
 *  6. The thread sleeps until a notification or a file's quiet time ends: an idle folder costs
 *     no CPU.
 */
final class DeployWatcher implements Runnable, AutoCloseable {
    private static final System.Logger LOG = System.getLogger("ioasid.runtime");
    /** 1 above: long enough for a copy's burst of writes; a partial jar is caught by 2. */
    static final long JAR_QUIET_MS = 50;
    /** 1 above: a configuration written without a rename has no test of being whole. */
    static final long CONFIG_QUIET_MS = 250;
    /** 2 above: as long as BundleInstaller waits before calling a jar broken. */
    static final long SETTLE_MS = BundleInstaller.SETTLE_MS;
    /** 5 above. */
    static final long RETRY_MS = 2000;

    private final Path folder;
    private final List<ArtifactInstaller> installers;
    private final long jarQuietMs;
    private final long configQuietMs;
    private final long settleMs;
    private final long retryMs;
    private final WatchService service;
    private final Thread thread;
    /** Files with a change not yet handed over, by when to look at them next (nanoTime). */
    private final Map<Path, Long> pending = new LinkedHashMap<>();
    /** When each pending file's last change was reported (nanoTime). */
    private final Map<Path, Long> reported = new HashMap<>();
    /** Files in the folder as last known, looked at again after a loss (5). */
    private final Set<Path> seen = new HashSet<>();
    private WatchKey key;
    private volatile boolean closed;

    DeployWatcher(Path folder, List<ArtifactInstaller> installers) throws IOException {
        this(folder, installers, JAR_QUIET_MS, CONFIG_QUIET_MS, SETTLE_MS, RETRY_MS);
    }

    DeployWatcher(Path folder, List<ArtifactInstaller> installers, long jarQuietMs,
            long configQuietMs, long settleMs, long retryMs) throws IOException {
        // FileInstall's form of the path, so both name a file, and its bundle location, alike
        this.folder = folder.toFile().getCanonicalFile().toPath();
        this.installers = List.copyOf(installers);
        this.jarQuietMs = jarQuietMs;
        this.configQuietMs = configQuietMs;
        this.settleMs = settleMs;
        this.retryMs = retryMs;
        this.service = this.folder.getFileSystem().newWatchService();
        this.thread = new Thread(this, "ioasid deploy watcher");
        thread.setDaemon(true);
    }

    /** Registers with the folder and starts; files already there are not handed over. */
    DeployWatcher start() {
        if (register()) {
            seen.addAll(list());
        }
        thread.start();
        return this;
    }

    @Override
    public void close() {
        closed = true;
        try {
            service.close();
        } catch (IOException e) {
            // nothing left to release
        }
        if (Thread.currentThread() != thread) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void run() {
        try {
            while (!closed) {
                WatchKey k = next(timeoutMs());
                try {
                    if (k != null) {
                        collect(k);
                    }
                    if (key == null && register()) {
                        touchAll(); // 5: whatever happened while it was not watched
                    }
                    handDue();
                } catch (ClosedWatchServiceException e) {
                    throw e;
                } catch (RuntimeException e) {
                    // one bad turn must not end the watching; FileInstall's poll covers it
                    LOG.log(System.Logger.Level.WARNING, "deploy/ watcher: "
                            + BundleInstaller.reason(e));
                }
            }
        } catch (ClosedWatchServiceException e) {
            // closed: the runtime stops
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** How long the thread may sleep: until the next quiet time ends, or for ever (6). */
    private long timeoutMs() {
        long now = System.nanoTime();
        long soonest = Long.MAX_VALUE;
        for (long due : pending.values()) {
            soonest = Math.min(soonest, due - now);
        }
        long ms = soonest == Long.MAX_VALUE ? -1 : Math.max(1, (soonest + 999_999) / 1_000_000);
        return key == null ? (ms < 0 ? retryMs : Math.min(ms, retryMs)) : ms;
    }

    private WatchKey next(long timeoutMs) throws InterruptedException {
        return timeoutMs < 0 ? service.take() : service.poll(timeoutMs, TimeUnit.MILLISECONDS);
    }

    private void collect(WatchKey k) {
        long now = System.nanoTime();
        for (WatchEvent<?> event : k.pollEvents()) {
            if (event.kind() == StandardWatchEventKinds.OVERFLOW) {
                touchAll();
            } else if (event.context() instanceof Path name) {
                Path file = folder.resolve(name);
                if (taken(file)) {
                    changed(file, now);
                }
            }
        }
        if (!k.reset()) {
            // the folder went away: FileInstall's poll serves until it is back (5)
            key = null;
        }
    }

    /** 5 above: every file there now and every file known before, as changed now. */
    private void touchAll() {
        long now = System.nanoTime();
        Set<Path> all = new HashSet<>(seen);
        all.addAll(list());
        for (Path file : all) {
            changed(file, now);
        }
    }

    private void changed(Path file, long now) {
        reported.put(file, now);
        pending.put(file, now + TimeUnit.MILLISECONDS.toNanos(quietMs(file)));
    }

    /** Hands over every file whose quiet time has ended (1 to 3). */
    private void handDue() {
        long now = System.nanoTime();
        for (Iterator<Map.Entry<Path, Long>> it = pending.entrySet().iterator(); it.hasNext();) {
            Map.Entry<Path, Long> e = it.next();
            Path file = e.getKey();
            if (closed || now - e.getValue() < 0) {
                continue;
            }
            boolean there = Files.isRegularFile(file);
            long settled = reported.get(file) + TimeUnit.MILLISECONDS.toNanos(settleMs);
            if (there && DeployFolder.isJar(file.getFileName().toString())
                    && now - settled < 0 && !JarIdentity.opensWhole(file)) {
                // 2: still being written, or broken: its next change brings it back sooner
                e.setValue(settled);
                continue;
            }
            it.remove();
            reported.remove(file);
            if (there) {
                seen.add(file);
            } else {
                seen.remove(file);
            }
            hand(file, there);
        }
    }

    private void hand(Path file, boolean there) {
        File artifact = file.toFile();
        for (ArtifactInstaller installer : installers) {
            if (installer.canHandle(artifact)) {
                try {
                    if (there) {
                        installer.install(artifact);
                    } else {
                        installer.uninstall(artifact);
                    }
                } catch (Exception | LinkageError e) {
                    // the installers report their own failures; anything else is one line
                    LOG.log(System.Logger.Level.WARNING, "deploy/" + file.getFileName() + ": "
                            + BundleInstaller.reason(e));
                }
                return;
            }
        }
    }

    private long quietMs(Path file) {
        return DeployFolder.isJar(file.getFileName().toString()) ? jarQuietMs : configQuietMs;
    }

    /** 4 above. */
    private boolean taken(Path file) {
        if (Files.isDirectory(file)) {
            return false;
        }
        File artifact = file.toFile();
        for (ArtifactInstaller installer : installers) {
            if (installer.canHandle(artifact)) {
                return true;
            }
        }
        return false;
    }

    private boolean register() {
        try {
            key = folder.register(service, StandardWatchEventKinds.ENTRY_CREATE,
                    StandardWatchEventKinds.ENTRY_MODIFY, StandardWatchEventKinds.ENTRY_DELETE);
            return true;
        } catch (IOException e) {
            key = null; // not there (yet): tried again every RETRY_MS
            return false;
        }
    }

    private Set<Path> list() {
        Set<Path> files = new HashSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(folder)) {
            for (Path p : ds) {
                if (taken(p)) {
                    files.add(p);
                }
            }
        } catch (IOException e) {
            // gone: nothing to list
        }
        return files;
    }
}
