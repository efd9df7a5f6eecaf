package ioasid.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.core.impl.IoasidCore;

/**
 * {@code get} (lock-free, a compare-and-set on the reference word) racing {@code free} (under the
 * lock) on one handle that holds only its allocation reference (rules 67, 70; D10). Either the
 * get wins: the free leaves the ID FREE_PENDING with the get's reference, still found; or the
 * free wins: the ID is reclaimed and the get fails (EINVAL for the stale handle, or EBUSY for a
 * FREE_PENDING one). Never a reference on a reclaimed ID.
 *
 * <p>r1: get (0 or -errno). r2: free (0 or -errno). r3: the state's ordinal times 10, plus 1
 * when {@code find} still finds the ID (FREE 0, IDLE 1, ACTIVE 2, FREE_PENDING 3). r4: refs.
 */
@JCStressTest
@Outcome(id = "0, 0, 31, 1", expect = ACCEPTABLE, desc = "get first: FREE_PENDING with the get's reference, still found")
@Outcome(id = "-22, 0, 0, 0", expect = ACCEPTABLE, desc = "free first: reclaimed, get refused the stale handle (EINVAL)")
@Outcome(id = "-16, 0, 0, 0", expect = ACCEPTABLE, desc = "free first: get refused a FREE_PENDING ID (EBUSY)")
@Outcome(expect = FORBIDDEN, desc = "a reference on a reclaimed ID, a lost reference, or a free that failed")
@State
public class IoasidGetRacingFreeTest {
    private final IoasidCore core = Races.smallCore(4);
    private final IoasidSet set = Races.anySet(core);
    private final IoasidHandle h = core.alloc(set, 1, 15, null);

    @Actor
    public void getter(IIII_Result r) {
        try {
            core.get(h);
            r.r1 = 0;
        } catch (RuntimeException e) {
            r.r1 = Races.code(e);
        }
    }

    @Actor
    public void freer(IIII_Result r) {
        try {
            core.free(h);
            r.r2 = 0;
        } catch (RuntimeException e) {
            r.r2 = Races.code(e);
        }
    }

    @Arbiter
    public void check(IIII_Result r) {
        boolean found;
        try {
            found = core.find(null, h.id()) == h;
        } catch (IoasidException e) {
            found = false;
        }
        r.r3 = h.state().ordinal() * 10 + (found ? 1 : 0);
        r.r4 = h.refCount();
    }
}
