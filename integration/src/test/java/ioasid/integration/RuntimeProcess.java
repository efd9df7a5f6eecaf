package ioasid.integration;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The runtime jar started as a process in a folder, stdout and stderr merged, every line it
 * prints collected as it comes so a test can wait for one while the runtime keeps running.
 */
final class RuntimeProcess {
    final Process process;
    /** What it printed so far; lock it to iterate. */
    final List<String> out = Collections.synchronizedList(new ArrayList<>());
    private final Thread reader;

    private RuntimeProcess(Process process) {
        this.process = process;
        reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(
                    process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null;) {
                    out.add(line);
                }
            } catch (IOException e) {
                out.add("reader: " + e);
            }
        });
        reader.start();
    }

    /** Starts {@code java OPTIONS -jar ioasid.jar} in {@code dir}. */
    static RuntimeProcess start(Path dir, String... jvmOptions) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(jvmOptions));
        command.add("-jar");
        command.add(Path.of(System.getProperty("ioasid.runtime.jar")).toAbsolutePath().toString());
        return new RuntimeProcess(new ProcessBuilder(command).directory(dir.toFile())
                .redirectErrorStream(true).start());
    }

    /** Waits until everything it printed has been read (after it ended), at most {@code ms}. */
    void awaitOutput(long ms) throws InterruptedException {
        reader.join(ms);
    }
}
