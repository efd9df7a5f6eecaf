package ioasid.launcher;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The runtime jar's entry point. One runtime per working directory: it holds
 * {@code .ioasid/lock} for its life, so a second one started there refuses in one line instead
 * of sharing {@code deploy/}; the framework's storage lives in {@code .ioasid/framework}, which
 * the launcher empties on every start. Then it hands over to the OSGi launcher embedded in the
 * same jar.
 */
public final class Main {
    /** The exit code of a runtime that found its working directory in use. */
    public static final int IN_USE = 3;
    /** The exit code of a runtime that could not use its working directory. */
    public static final int UNUSABLE = 2;

    private static final String LAUNCHER = "aQute.launcher.pre.EmbeddedLauncher";
    private static final String STORAGE = "launch.storage.dir";

    /**
     * Held until the JVM exits; the operating system releases it even after kill -9. Nothing else
     * in this JVM may open the lock file: closing any descriptor of it drops a POSIX lock.
     */
    @SuppressWarnings("unused")
    private static FileLock held;

    private Main() {
    }

    public static void main(String[] args) throws Throwable {
        Path state = Path.of(".ioasid").toAbsolutePath();
        String refusal = claim(state);
        if (refusal != null) {
            System.err.println("ioasid: " + refusal);
            System.exit(refusal.startsWith("cannot") ? UNUSABLE : IN_USE);
        }
        if (System.getProperty(STORAGE) == null) {
            System.setProperty(STORAGE, state.resolve("framework").toString());
        }
        try {
            Class.forName(LAUNCHER).getMethod("main", String[].class).invoke(null,
                    (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /**
     * Takes the working directory's lock and writes this process's ID into it.
     *
     * @return null when taken, else the line to print
     */
    static String claim(Path state) {
        Path file = state.resolve("lock");
        try {
            Files.createDirectories(state);
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE,
                    StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock = ch.tryLock();
            if (lock == null) {
                String holder = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).strip();
                ch.close();
                return "another runtime" + (holder.isEmpty() ? "" : " (process " + holder + ")")
                        + " is running in " + state.getParent() + "; stop it, or start this one "
                        + "in another directory";
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(Long.toString(ProcessHandle.current().pid())
                    .getBytes(StandardCharsets.UTF_8)), 0);
            held = lock;
            return null;
        } catch (IOException | RuntimeException e) {
            return "cannot use " + state + ": " + e.getMessage();
        }
    }
}
