package ioasid.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.util.concurrent.atomic.AtomicInteger;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import ioasid.api.IoasidHandle;

/**
 * The last reference dropped by {@code put} (lock-free until the reclaim) racing {@code free}
 * (under the lock) on an ID with only its allocation reference. Whichever comes first takes the
 * ID away; the other finds a stale handle (ENOENT). Either way exactly one FREE (the IOASID
 * core's invariant C7: at the free or at the last put, whichever comes first) and the ID is
 * reclaimed.
 *
 * <p>r1: put (1 reclaimed, 0 not, or -errno). r2: free (0 or -errno). r3: FREE events. r4: the
 * state's ordinal.
 */
@JCStressTest
@Outcome(id = "1, -2, 1, 0", expect = ACCEPTABLE, desc = "put first: it reclaimed the ID, the free found it stale")
@Outcome(id = "-2, 0, 1, 0", expect = ACCEPTABLE, desc = "free first: it reclaimed the ID, the put found it stale")
@Outcome(expect = FORBIDDEN, desc = "two FREEs, none, both succeeded, or the ID survived")
@State
public class IoasidPutRacingFreeTest {
    private final AtomicInteger frees = new AtomicInteger();
    private final IoasidHandle h = Races.counted(frees);

    @Actor
    public void putter(IIII_Result r) {
        try {
            r.r1 = Races.Shared.CORE.put(h) ? 1 : 0;
        } catch (RuntimeException e) {
            r.r1 = Races.code(e);
        }
    }

    @Actor
    public void freer(IIII_Result r) {
        try {
            Races.Shared.CORE.free(h);
            r.r2 = 0;
        } catch (RuntimeException e) {
            r.r2 = Races.code(e);
        }
    }

    @Arbiter
    public void check(IIII_Result r) {
        r.r3 = frees.get();
        r.r4 = h.state().ordinal();
        Races.drain(h);
    }
}
