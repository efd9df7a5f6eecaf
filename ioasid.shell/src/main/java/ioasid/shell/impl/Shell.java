package ioasid.shell.impl;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/** What the commands share. A command fails by throwing an {@link IoasidException}. */
final class Shell {
    /** The longest name or token a table shows in one piece. */
    static final int MAX_NAME = 64;

    private Shell() {
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** A name an operator types: not empty, no white space or control characters. */
    static String name(String text, String what) {
        if (text == null || text.isEmpty()) {
            throw new IoasidException(Errno.EINVAL, what + " is empty");
        }
        if (text.length() > MAX_NAME) {
            throw new IoasidException(Errno.EINVAL, what + " '" + text.substring(0, 16)
                    + "...' is longer than " + MAX_NAME + " characters");
        }
        if (text.codePoints().anyMatch(c -> Character.isWhitespace(c)
                || Character.isISOControl(c))) {
            throw new IoasidException(Errno.EINVAL, what + " '" + text
                    + "' has white space or control characters");
        }
        return text;
    }

    /** Stops a long command when its job is interrupted (Ctrl-C at the console). */
    static void checkInterrupt(String done) {
        if (Thread.currentThread().isInterrupted()) {
            throw new IoasidException(Errno.EINTR, "interrupted; " + done);
        }
    }

    /** IDs as ranges: 1-3,7,9-10. */
    static String ranges(int[] sorted, int maxChars) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < sorted.length; i++) {
            int j = i;
            while (j + 1 < sorted.length && sorted[j + 1] == sorted[j] + 1) {
                j++;
            }
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(sorted[i]);
            if (j > i) {
                sb.append('-').append(sorted[j]);
            }
            i = j;
            if (sb.length() > maxChars && i + 1 < sorted.length) {
                return sb.append(",...").toString();
            }
        }
        return sb.toString();
    }
}
