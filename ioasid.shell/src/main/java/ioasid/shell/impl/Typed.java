package ioasid.shell.impl;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/**
 * A number as the operator typed it. Gogo converts every argument to the parameter's type before
 * the command runs; these types always accept the text and check it when the command reads it,
 * so a bad value gets the command's one-line error quoting what was typed, not Gogo's
 * "Cannot coerce".
 */
abstract class Typed {
    final String typed;

    Typed(Object typed) {
        this.typed = typed instanceof Reply ? String.valueOf(((Reply) typed).value())
                : String.valueOf(typed);
    }

    /** Decimal or 0x hexadecimal, unsigned 64-bit at most; what is the noun errors use. */
    static long unsigned(String text, String what) {
        String t = text.trim();
        if (t.startsWith("-")) {
            throw new IoasidException(Errno.EINVAL, what + " '" + text + "' is negative");
        }
        boolean hex = t.startsWith("0x") || t.startsWith("0X");
        try {
            return hex ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseUnsignedLong(t);
        } catch (NumberFormatException e) {
            boolean digits = !t.isEmpty() && (hex ? t.substring(2) : t).chars()
                    .allMatch(c -> Character.digit(c, hex ? 16 : 10) >= 0);
            throw new IoasidException(Errno.EINVAL, what + " '" + text + "' is "
                    + (digits ? "larger than 64 bits" : "not a number"));
        }
    }

    /** A number in [min, max]. */
    static long inRange(String text, String what, long min, long max) {
        long v = unsigned(text, what);
        if (Long.compareUnsigned(v, min) < 0 || Long.compareUnsigned(v, max) > 0) {
            throw new IoasidException(Errno.EINVAL, what + " '" + text + "' is not in [" + min
                    + ", " + max + "]");
        }
        return v;
    }

    @Override
    public String toString() {
        return typed;
    }
}
