package ioasid.testkit.contracts;

import java.util.Set;

import org.junit.jupiter.api.function.Executable;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/** Assertions the suites share. */
final class Checks {
    private Checks() {
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /**
     * Expects the call to be refused with an {@link IoasidException} (D2: every failure names
     * an errno), whatever the errno.
     */
    static IoasidException refused(String what, Executable call) {
        try {
            call.execute();
        } catch (IoasidException e) {
            return e;
        } catch (Throwable t) {
            throw new AssertionError(what + ": refused with " + t + ", not an IoasidException "
                    + "naming an errno (D2)", t);
        }
        throw new AssertionError(what + ": not refused");
    }

    /** Expects the call to be refused with one of the errnos. */
    static IoasidException refusedWith(Set<Errno> errnos, String what, Executable call) {
        IoasidException e = refused(what, call);
        if (!errnos.contains(e.errno())) {
            throw new AssertionError(what + ": refused with " + e.getMessage() + ", expected "
                    + (errnos.size() == 1 ? errnos.iterator().next() : "one of " + errnos), e);
        }
        return e;
    }
}
