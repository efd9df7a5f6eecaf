package ioasid.console.impl;

import java.util.ArrayList;
import java.util.List;

/**
 * How the console was asked to run, from the runtime's command line
 * ({@code java -jar ioasid.jar [-c COMMANDS | SCRIPT]}) or, as Gogo's shells read it, from the
 * {@code gosh.args} property ({@code --nointeractive -c '...'}).
 */
final class Launch {
    enum Mode {
        /** A terminal: line editing, history, completion. */
        INTERACTIVE,
        /** Commands given on the command line. */
        COMMANDS,
        /** A script file. */
        FILE,
        /** Lines read from standard input as they come (a pipe, not a terminal). */
        INPUT,
        /** Nothing to run: the runtime serves until it is stopped. */
        SERVE,
        /** Print the usage and exit. */
        HELP
    }

    static final String USAGE = String.join("\n",
            "usage: java -jar ioasid.jar [-c COMMANDS | SCRIPT | --serve | --help]",
            "  no argument    a console on a terminal; commands read line by line from a pipe",
            "  -c COMMANDS    run the commands, then shut down",
            "  SCRIPT         run the script file's commands, then shut down",
            "  --serve        no console: run until stopped (SIGTERM, or stop 0 from elsewhere)",
            "exit codes: 0 shut down normally or every command succeeded, 1 a command failed,",
            "  2 bad arguments or an unreadable script, 3 another runtime uses this directory,",
            "  117 the framework was stopped by stop 0 at the console's prompt");

    final Mode mode;
    final String text;

    private Launch(Mode mode, String text) {
        this.mode = mode;
        this.text = text;
    }

    /**
     * @param args the launcher's arguments (may be empty)
     * @param goshArgs the {@code gosh.args} property, or null
     * @param terminal whether standard input is a terminal
     * @throws IllegalArgumentException naming what is wrong with the arguments
     */
    static Launch of(String[] args, String goshArgs, boolean terminal) {
        List<String> words = new ArrayList<>(List.of(args));
        boolean nointeractive = false;
        if (words.isEmpty() && goshArgs != null) {
            words = tokens(goshArgs);
        }
        while (!words.isEmpty() && words.get(0).startsWith("--no")) {
            String flag = words.remove(0);
            if (flag.equals("--nointeractive")) {
                nointeractive = true;
            } else if (!flag.equals("--noshutdown")) {
                throw new IllegalArgumentException("unknown option " + flag);
            }
        }
        if (words.isEmpty()) {
            return nointeractive ? new Launch(Mode.SERVE, null)
                    : new Launch(terminal ? Mode.INTERACTIVE : Mode.INPUT, null);
        }
        String first = words.get(0);
        if (first.equals("-h") || first.equals("--help")) {
            return new Launch(Mode.HELP, null);
        }
        if (first.equals("--serve")) {
            if (words.size() > 1) {
                throw new IllegalArgumentException("--serve takes nothing after it, not "
                        + words.subList(1, words.size()));
            }
            return new Launch(Mode.SERVE, null);
        }
        if (first.equals("-c") || first.equals("--command")) {
            if (words.size() < 2) {
                throw new IllegalArgumentException(first + " wants the commands to run");
            }
            return new Launch(Mode.COMMANDS, String.join(" ", words.subList(1, words.size())));
        }
        if (first.startsWith("-")) {
            throw new IllegalArgumentException("unknown option " + first);
        }
        if (words.size() > 1) {
            throw new IllegalArgumentException("one script at a time, not " + words);
        }
        return new Launch(Mode.FILE, first);
    }

    /** Splits as a shell does: white space separates, quotes group, backslash escapes. */
    static List<String> tokens(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = null;
        char quote = 0;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                } else if (c == '\\' && quote == '"' && i + 1 < line.length()) {
                    cur.append(line.charAt(++i));
                } else {
                    cur.append(c);
                }
            } else if (Character.isWhitespace(c)) {
                if (cur != null) {
                    out.add(cur.toString());
                    cur = null;
                }
            } else {
                if (cur == null) {
                    cur = new StringBuilder();
                }
                if (c == '\'' || c == '"') {
                    quote = c;
                } else if (c == '\\' && i + 1 < line.length()) {
                    cur.append(line.charAt(++i));
                } else {
                    cur.append(c);
                }
            }
        }
        if (quote != 0) {
            throw new IllegalArgumentException("unclosed " + quote + " in '" + line + "'");
        }
        if (cur != null) {
            out.add(cur.toString());
        }
        return out;
    }
}
