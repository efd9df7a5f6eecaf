package ioasid.console.impl;

import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.util.List;

import org.apache.felix.gogo.runtime.CommandNotFoundException;
import org.apache.felix.gogo.runtime.EOFError;
import org.apache.felix.gogo.runtime.Parser;
import org.apache.felix.gogo.runtime.SyntaxError;
import org.apache.felix.gogo.runtime.Token;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;

import ioasid.api.IoasidException;

/**
 * Runs Gogo text statement by statement, as a shell does: each statement's result is printed
 * unless it is captured, a failure prints one line to the error stream and the next statement
 * runs. Gogo alone prints only a program's last result and stops at its first failure.
 */
final class ScriptRunner {
    private final CommandSession session;
    private final PrintStream out;
    private final PrintStream err;

    ScriptRunner(CommandSession session, PrintStream out, PrintStream err) {
        this.session = session;
        this.out = out;
        this.err = err;
    }

    /** Reports a failure of the console itself, as a command's would be. */
    void error(String line) {
        err.println(line);
        err.flush();
    }

    /** Whether the text is a whole program, or lacks its end (an open quote or brace). */
    static boolean complete(CharSequence text) {
        try {
            new Parser(text).program();
            return true;
        } catch (EOFError e) {
            return false;
        } catch (SyntaxError e) {
            return true; // complete, and wrong: run() reports it
        }
    }

    /**
     * Runs the text; returns how many statements failed, not counting one that {@code ||}
     * handles (a syntax error counts as one, and then nothing runs). Stops early, before a
     * statement, when the stop condition holds.
     */
    int run(CharSequence text, java.util.function.BooleanSupplier stop) {
        List<Parser.Executable> tokens;
        try {
            tokens = new Parser(text).program().tokens();
        } catch (SyntaxError e) {
            err.println("syntax error at line " + (e.line() + 1) + ", column " + (e.column() + 1)
                    + ": " + e.getMessage());
            return 1;
        }
        int failures = 0;
        boolean lastOk = true;
        String operator = null;
        for (int i = 0; i < tokens.size(); i++) {
            Parser.Executable statement = tokens.get(i);
            String before = operator;
            operator = i + 1 < tokens.size() ? tokens.get(++i).toString() : null;
            if (stop.getAsBoolean()) {
                break;
            }
            if (("&&".equals(before) && !lastOk) || ("||".equals(before) && lastOk)) {
                continue;
            }
            lastOk = execute(statement);
            // "a || b" handles a's failure: it is printed, and not counted
            failures += lastOk || "||".equals(operator) ? 0 : 1;
        }
        return failures;
    }

    private boolean execute(Token statement) {
        if (statement.toString().isBlank()) {
            return true;
        }
        try {
            Object result = session.execute(statement);
            if (result != null && !captured(statement)) {
                CharSequence text = session.format(result, Converter.INSPECT);
                if (text != null && text.length() > 0) {
                    out.println(text);
                }
            }
            out.flush();
            return true;
        } catch (Exception e) {
            out.flush();
            err.println(oneLine(e));
            err.flush();
            return false;
        }
    }

    /** An assignment keeps its value quiet, as a shell's does. */
    private static boolean captured(Token statement) {
        String s = statement.toString().strip();
        int eq = s.indexOf('=');
        return eq > 0 && s.substring(0, eq).strip().matches("[A-Za-z_][A-Za-z0-9_]*");
    }

    /** The one line an operator sees for a failure: never a stack trace. */
    static String oneLine(Throwable e) {
        while (e instanceof InvocationTargetException && e.getCause() != null) {
            e = e.getCause();
        }
        if (e instanceof IoasidException || e instanceof ConsoleException) {
            return e.getMessage();
        }
        if (e instanceof InterruptedException) {
            return "EINTR: interrupted";
        }
        if (e instanceof CommandNotFoundException) {
            return "command not found: " + ((CommandNotFoundException) e).getCommand()
                    + " (help lists the commands)";
        }
        String m = e.getMessage();
        if (e instanceof IllegalArgumentException && m != null && m.startsWith("Cannot coerce ")) {
            int paren = m.indexOf('(');
            String command = paren > 0 ? m.substring("Cannot coerce ".length(), paren) : "";
            return "EINVAL: " + command + ": wrong number of arguments; help " + command
                    + " shows its forms";
        }
        if (e.getCause() instanceof IoasidException) {
            return e.getCause().getMessage();
        }
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
