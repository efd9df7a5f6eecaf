package ioasid.testkit;

import java.util.Objects;
import java.util.function.Supplier;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/**
 * Expectations about failures: every failure of the platform is an {@link IoasidException}
 * naming a kernel errno, and a failed call changes nothing.
 */
public final class Expect {
    private Expect() {
    }

    /** A call that may throw anything. */
    @FunctionalInterface
    public interface Call {
        void run() throws Throwable;
    }

    /**
     * Runs the call and expects it to fail with the errno.
     *
     * @return the exception, for checks of its message
     * @throws AssertionError when the call returns, or fails otherwise or with another errno
     */
    public static IoasidException errno(Errno errno, Call call) {
        Objects.requireNonNull(errno, "errno");
        try {
            call.run();
        } catch (IoasidException e) {
            if (e.errno() != errno) {
                throw new AssertionError("expected " + errno + " but got " + e.getMessage(), e);
            }
            return e;
        } catch (Throwable t) {
            throw new AssertionError("expected " + errno + " but got " + t, t);
        }
        throw new AssertionError("expected " + errno + " but the call returned");
    }

    /**
     * Expects the call to fail with the errno and the state, as the supplier describes it, to be
     * the same afterwards as before (compared with {@code equals}).
     */
    public static IoasidException unchanged(Errno errno, Supplier<?> state, Call call) {
        Object before = state.get();
        IoasidException e = errno(errno, call);
        Object after = state.get();
        if (!Objects.equals(before, after)) {
            throw new AssertionError("state changed by a failed call (" + e.getMessage()
                    + ")\nbefore: " + before + "\nafter:  " + after);
        }
        return e;
    }
}
