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
 * Two {@code free}s racing on one ID (rule 67, D10: a duplicate free must not notify twice).
 *
 * <p>{@link Idle}: only the allocation reference. The first free reclaims the ID; the second
 * finds the handle stale (ENOENT). {@link Held}: a reference besides, so the first free leaves
 * the ID FREE_PENDING and the second is a no-op that returns normally. Either way exactly one
 * FREE.
 *
 * <p>r1, r2: each free (0 or -errno). r3: FREE events. r4: the state's ordinal (FREE 0,
 * FREE_PENDING 3).
 */
public class IoasidFreeRacingFreeTest {
    private IoasidFreeRacingFreeTest() {
    }

    static int free(IoasidHandle h) {
        try {
            Races.Shared.CORE.free(h);
            return 0;
        } catch (RuntimeException e) {
            return Races.code(e);
        }
    }

    @JCStressTest
    @Outcome(id = {"0, -2, 1, 0", "-2, 0, 1, 0"}, expect = ACCEPTABLE, desc = "one free reclaimed the ID, the other found it stale, one FREE")
    @Outcome(expect = FORBIDDEN, desc = "two FREEs, both frees succeeded on a reclaimed ID, or none did")
    @State
    public static class Idle {
        private final AtomicInteger frees = new AtomicInteger();
        private final IoasidHandle h = Races.counted(frees);

        @Actor
        public void first(IIII_Result r) {
            r.r1 = free(h);
        }

        @Actor
        public void second(IIII_Result r) {
            r.r2 = free(h);
        }

        @Arbiter
        public void check(IIII_Result r) {
            r.r3 = frees.get();
            r.r4 = h.state().ordinal();
            Races.drain(h);
        }
    }

    @JCStressTest
    @Outcome(id = "0, 0, 1, 3", expect = ACCEPTABLE, desc = "both returned, one FREE, FREE_PENDING on the held reference")
    @Outcome(expect = FORBIDDEN, desc = "two FREEs, a free that failed, or the held reference lost")
    @State
    public static class Held {
        private final AtomicInteger frees = new AtomicInteger();
        private final IoasidHandle h = Races.counted(frees);

        public Held() {
            Races.Shared.CORE.get(h);
        }

        @Actor
        public void first(IIII_Result r) {
            r.r1 = free(h);
        }

        @Actor
        public void second(IIII_Result r) {
            r.r2 = free(h);
        }

        @Arbiter
        public void check(IIII_Result r) {
            r.r3 = frees.get();
            r.r4 = h.state().ordinal();
            Races.drain(h);
        }
    }
}
