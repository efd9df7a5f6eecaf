package ioasid.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.util.Map;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;
import org.osgi.framework.Constants;

import ioasid.api.IoasidSet;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.core.impl.IoasidCore;

/**
 * An allocation racing the arrival of a custom allocator ranked above the active one (rules 15,
 * 25, 26; D4: a switch is allowed only while the active space holds nothing, else the newcomer
 * waits). The ID must come from exactly one space, and the space that holds it must be the
 * active one: a switch away from a space with an outstanding ID would orphan it.
 *
 * <p>{@link FromDefault}: the default allocator is active (its IDs start at 1); allocator A
 * (IDs from 100) arrives. {@link InFlight}: A is active and its call runs outside the core lock,
 * counted in flight; allocator B (IDs from 200, ranked higher, other helpers) arrives.
 *
 * <p>r1: the ID. r2: the active space (0 default, 1 A, 2 B). r3, r4: live IDs of the space the
 * race started in and of the newcomer's.
 */
public class IoasidAllocRacingSwitchTest {
    private IoasidAllocRacingSwitchTest() {
    }

    static Map<String, Object> props(long serviceId, int ranking) {
        return Map.of(Constants.SERVICE_ID, serviceId, Constants.SERVICE_RANKING, ranking);
    }

    /** The index of the active space and the live counts of two named spaces. */
    static void spaces(IoasidCore core, String from, String to, IIII_Result r) {
        for (IdSpaceDTO s : core.idSpaces()) {
            if (s.active) {
                r.r2 = s.isDefault ? 0 : s.name.endsWith(" 100") ? 1 : 2;
            }
            if (s.name.equals(from)) {
                r.r3 = s.live;
            } else if (s.name.equals(to)) {
                r.r4 = s.live;
            }
        }
    }

    @JCStressTest
    @Outcome(id = "1, 0, 1, 0", expect = ACCEPTABLE, desc = "alloc first: ID 1 from the default space, A waits")
    @Outcome(id = "100, 1, 0, 1", expect = ACCEPTABLE, desc = "A first: the empty default space switched, ID 100 from A")
    @Outcome(expect = FORBIDDEN, desc = "an ID from a space that is not active, or counted in the wrong space")
    @State
    public static class FromDefault {
        private final IoasidCore core = Races.smallCore(8);
        private final IoasidSet set = Races.anySet(core);
        private final TestAllocator a = new TestAllocator(100);

        @Actor
        public void alloc(IIII_Result r) {
            r.r1 = core.alloc(set, 1, 255, null).id();
        }

        @Actor
        public void register() {
            core.bindAllocator(a, props(1L, 10));
        }

        @Arbiter
        public void check(IIII_Result r) {
            spaces(core, "default", a.toString(), r);
        }
    }

    @JCStressTest
    @Outcome(id = "100, 1, 1, 0", expect = ACCEPTABLE, desc = "A's call was under way or done: ID 100 from A, which stays active, B waits")
    @Outcome(id = "200, 2, 0, 1", expect = ACCEPTABLE, desc = "B first: A's empty space switched, ID 200 from B")
    @Outcome(expect = FORBIDDEN, desc = "an ID from a space that is not active, or counted in the wrong space")
    @State
    public static class InFlight {
        private final IoasidCore core = Races.smallCore(8);
        private final IoasidSet set = Races.anySet(core);
        private final TestAllocator a = new TestAllocator(100);
        private final TestAllocator b = new TestAllocator(200);

        public InFlight() {
            core.bindAllocator(a, props(1L, 10));
        }

        @Actor
        public void alloc(IIII_Result r) {
            r.r1 = core.alloc(set, 1, 255, null).id();
        }

        @Actor
        public void register() {
            core.bindAllocator(b, props(2L, 20));
        }

        @Arbiter
        public void check(IIII_Result r) {
            spaces(core, a.toString(), b.toString(), r);
        }
    }
}
