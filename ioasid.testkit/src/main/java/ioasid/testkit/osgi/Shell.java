package ioasid.testkit.osgi;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;

/**
 * Runs console scripts, as an operator's script runs: each statement's result printed, each
 * failure one line on stderr, the next statement run. Needs the shell bundles ({@code
 * IoasidOptions.shell()} under Pax Exam).
 */
public final class Shell {
    private Shell() {
    }

    /** What a script printed, and the console's summary of it. */
    public static final class Result {
        private final String out;
        private final String err;
        private final String summary;

        Result(String out, String err, String summary) {
            this.out = out;
            this.err = err;
            this.summary = summary;
        }

        /** What the statements printed on stdout. */
        public String out() {
            return out;
        }

        /** The failures, one line each. */
        public String err() {
            return err;
        }

        /** The console's summary line ("...: 3 commands failed"), or "" when all succeeded. */
        public String summary() {
            return summary;
        }

        @Override
        public String toString() {
            return "out: " + out + "\nerr: " + err + "\nsummary: " + summary;
        }
    }

    /** Runs the script through the console's {@code console:source}. */
    public static Result script(CommandProcessor processor, String script) throws IOException {
        Path file = Files.createTempFile("ioasid-", ".gosh");
        try {
            Files.writeString(file, script);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            String summary = "";
            try (CommandSession session = processor.createSession(InputStream.nullInputStream(),
                    new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8))) {
                session.put("file", file.toString());
                session.execute("console:source $file");
            } catch (Exception e) {
                summary = e.getMessage();
            }
            return new Result(out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8), summary);
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
