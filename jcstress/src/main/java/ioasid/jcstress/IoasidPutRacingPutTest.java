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
 * Two {@code put}s racing on an ID with two references, the allocation one and a {@code get}
 * (rule 71): both compare-and-set the reference word; exactly one reaches zero and reports the
 * reclaim, and the ID gets exactly one FREE (the allocation reference went without a free).
 *
 * <p>r1, r2: each put (1 reclaimed, 0 not, or -errno). r3: FREE events. r4: the state's ordinal.
 */
@JCStressTest
@Outcome(id = {"1, 0, 1, 0", "0, 1, 1, 0"}, expect = ACCEPTABLE, desc = "exactly one put reclaimed the ID, one FREE")
@Outcome(expect = FORBIDDEN, desc = "no reclaim, two reclaims, a failed put, or not exactly one FREE")
@State
public class IoasidPutRacingPutTest {
    private final AtomicInteger frees = new AtomicInteger();
    private final IoasidHandle h = Races.counted(frees);

    public IoasidPutRacingPutTest() {
        Races.Shared.CORE.get(h);
    }

    @Actor
    public void first(IIII_Result r) {
        r.r1 = put();
    }

    @Actor
    public void second(IIII_Result r) {
        r.r2 = put();
    }

    private int put() {
        try {
            return Races.Shared.CORE.put(h) ? 1 : 0;
        } catch (RuntimeException e) {
            return Races.code(e);
        }
    }

    @Arbiter
    public void check(IIII_Result r) {
        r.r3 = frees.get();
        r.r4 = h.state().ordinal();
        Races.drain(h);
    }
}
