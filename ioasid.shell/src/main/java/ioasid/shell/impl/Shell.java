package ioasid.shell.impl;

import java.io.PrintStream;
import java.util.function.Supplier;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/**
 * What every command shares: argument checks and the rule that a failure prints one line,
 * "ERRNO: message", and changes nothing.
 */
final class Shell {
    private Shell() {
    }

    /**
     * Runs a command and prints what it says to the session's output (in a script Gogo prints
     * no return value); a failure prints one line to the session's error stream instead.
     *
     * @return the text printed, or null after a failure
     */
    static String run(Supplier<String> command) {
        return run(command, System.out, System.err);
    }

    static String run(Supplier<String> command, PrintStream out, PrintStream err) {
        String text;
        try {
            text = command.get();
        } catch (IoasidException e) {
            err.println(e.getMessage());
            return null;
        } catch (RuntimeException e) {
            err.println(Errno.EIO.name() + ": " + e); // a bug, reported, never a stack trace
            return null;
        }
        out.print(text);
        out.flush();
        return text;
    }

    /** Checks the argument count against a usage line. */
    static void args(String[] args, int min, int max, String usage) {
        if (args.length < min || args.length > max) {
            throw new IoasidException(Errno.EINVAL, "usage: " + usage);
        }
    }

    /** A number in decimal or 0x hex. */
    static long number(String text, String what) {
        try {
            String t = text.trim();
            boolean hex = t.startsWith("0x") || t.startsWith("0X");
            return hex ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new IoasidException(Errno.EINVAL, what + " '" + text + "' is not a number");
        }
    }

    /** A number that fits an int. */
    static int integer(String text, String what) {
        long v = number(text, what);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IoasidException(Errno.EINVAL, what + " " + text + " is out of range");
        }
        return (int) v;
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
