package ioasid.console.impl;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Job;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;

/**
 * The console on a terminal: line editing, history kept in the working directory, Tab
 * completion. Ctrl-C at the prompt clears the line; while a command runs it interrupts that
 * command, never the runtime. Ctrl-D at an empty prompt leaves, as {@code shutdown} does.
 */
final class Interactive implements AutoCloseable {
    static final String PROMPT = "ioasid> ";
    static final String MORE = "> ";

    private final Terminal terminal;
    private final LineReader reader;
    private final CommandSession session;
    private final PrintStream out;

    Interactive(CommandProcessor processor, Completion completion, Path history)
            throws IOException {
        Thread t = Thread.currentThread();
        ClassLoader saved = t.getContextClassLoader();
        // JLine finds its terminal providers through the context class loader
        t.setContextClassLoader(Terminal.class.getClassLoader());
        try {
            terminal = TerminalBuilder.builder().name("ioasid").system(true)
                    .nativeSignals(true).signalHandler(Terminal.SignalHandler.SIG_IGN).build();
        } finally {
            t.setContextClassLoader(saved);
        }
        if (Terminal.TYPE_DUMB.equals(terminal.getType())) {
            terminal.close();
            throw new IOException("the terminal does not support line editing");
        }
        Files.createDirectories(history.toAbsolutePath().getParent());
        reader = LineReaderBuilder.builder().terminal(terminal).appName("ioasid")
                .completer(completion).variable(LineReader.HISTORY_FILE, history.toAbsolutePath())
                .option(LineReader.Option.DISABLE_EVENT_EXPANSION, true).build();
        out = new PrintStream(terminal.output(), true, terminal.encoding());
        session = processor.createSession(terminal.input(), out, out);
    }

    /** Reads and runs lines until Ctrl-D, or until {@code leave} holds after a line. */
    void run(BooleanSupplier leave) {
        ScriptRunner runner = new ScriptRunner(session, out, out);
        terminal.handle(Terminal.Signal.INT, signal -> {
            Job job = session.foregroundJob();
            if (job != null) {
                job.interrupt();
            }
        });
        StringBuilder pending = new StringBuilder();
        while (!leave.getAsBoolean()) {
            String line;
            try {
                line = reader.readLine(pending.length() == 0 ? PROMPT : MORE);
            } catch (UserInterruptException e) {
                pending.setLength(0);
                continue;
            } catch (EndOfFileException e) {
                break;
            } catch (RuntimeException e) {
                break; // the terminal was closed under the reader: the runtime is stopping
            }
            pending.append(line).append('\n');
            if (ScriptRunner.complete(pending)) {
                runner.run(pending, leave);
                pending.setLength(0);
            }
        }
        try {
            reader.getHistory().save();
        } catch (IOException e) {
            out.println("ioasid: history not saved: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (RuntimeException e) {
            // already closed
        }
        try {
            terminal.close();
        } catch (IOException e) {
            // nothing more to release
        }
    }
}
