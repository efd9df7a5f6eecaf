package ioasid.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.core.impl.IoasidCore;

/**
 * {@code findBySpid(set, spid, true)} (under the lock) racing the {@code put} of the last
 * reference of the ID holding that SPID (a compare-and-set outside the lock, then the reclaim
 * under it; rule 75, D10). Its Javadoc allows ENOENT (no ID has the SPID) and EBUSY
 * (FREE_PENDING), and says nothing of EINVAL for this case.
 *
 * <p>r1: put (1 reclaimed, 0 not, or -errno). r2: findBySpid (0 found with a reference, or
 * -errno). r3: the state's ordinal. r4: refs.
 */
@JCStressTest
@Outcome(id = "0, 0, 1, 1", expect = ACCEPTABLE, desc = "find first: its reference keeps the ID, IDLE after the put")
@Outcome(id = "1, -2, 0, 0", expect = ACCEPTABLE, desc = "put first: reclaimed with its SPID, ENOENT")
@Outcome(id = "1, -16, 0, 0", expect = ACCEPTABLE, desc = "put first: refused as FREE_PENDING (EBUSY)")
@Outcome(expect = FORBIDDEN, desc = "an errno the Javadoc does not name, or a reference on a reclaimed ID")
@State
public class IoasidFindBySpidRacingPutTest {
    private final IoasidCore core = Races.smallCore(4);
    private final IoasidSet set = Races.anySet(core);
    private final IoasidHandle h = core.alloc(set, 1, 15, null);

    public IoasidFindBySpidRacingPutTest() {
        core.attachSpid(h, 5);
    }

    @Actor
    public void putter(IIII_Result r) {
        try {
            r.r1 = core.put(h) ? 1 : 0;
        } catch (RuntimeException e) {
            r.r1 = Races.code(e);
        }
    }

    @Actor
    public void finder(IIII_Result r) {
        try {
            r.r2 = core.findBySpid(set, 5, true) == h ? 0 : 1;
        } catch (RuntimeException e) {
            r.r2 = Races.code(e);
        }
    }

    @Arbiter
    public void check(IIII_Result r) {
        r.r3 = h.state().ordinal();
        r.r4 = h.refCount();
    }
}
