package ioasid.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

class ExpectTest {
    @Test
    void returnsTheExceptionOfTheExpectedErrno() {
        IoasidException thrown = new IoasidException(Errno.EBUSY, "busy");
        assertSame(thrown, Expect.errno(Errno.EBUSY, () -> {
            throw thrown;
        }));
    }

    @Test
    void failsOnAnotherErrnoNamingBoth() {
        AssertionError e = assertThrows(AssertionError.class, () -> Expect.errno(Errno.EBUSY,
                () -> {
                    throw new IoasidException(Errno.EINVAL, "bad argument");
                }));
        assertTrue(e.getMessage().contains("EBUSY") && e.getMessage().contains("bad argument"),
                e.getMessage());
    }

    @Test
    void failsWhenTheCallReturnsOrThrowsSomethingElse() {
        AssertionError returned = assertThrows(AssertionError.class,
                () -> Expect.errno(Errno.ENOENT, () -> { }));
        assertTrue(returned.getMessage().contains("returned"), returned.getMessage());
        AssertionError other = assertThrows(AssertionError.class,
                () -> Expect.errno(Errno.ENOENT, () -> {
                    throw new IllegalStateException("boom");
                }));
        assertTrue(other.getCause() instanceof IllegalStateException);
    }

    @Test
    void unchangedComparesTheStateBeforeAndAfter() {
        List<String> state = new ArrayList<>();
        Expect.unchanged(Errno.EINVAL, () -> List.copyOf(state), () -> {
            throw new IoasidException(Errno.EINVAL, "refused");
        });
        AssertionError e = assertThrows(AssertionError.class,
                () -> Expect.unchanged(Errno.EINVAL, () -> List.copyOf(state), () -> {
                    state.add("half done");
                    throw new IoasidException(Errno.EINVAL, "refused late");
                }));
        assertTrue(e.getMessage().contains("half done"), e.getMessage());
        assertEquals(List.of("half done"), state);
    }
}
