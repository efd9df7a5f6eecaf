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
 * Freeing ID 1 racing an allocation (lowest free, D1) that may reuse the number. The new
 * allocation gets a new handle (D3): the old one stays FREE for good, and a lookup of the new
 * number finds the new handle only.
 *
 * <p>r1: the old handle's state ordinal. r2: the new ID. r3: 1 when find gives the new handle.
 * r4: 1 when find of ID 1 gives a live handle other than the old one, 0 when none, 2 when the
 * old one.
 */
@JCStressTest
@Outcome(id = "0, 1, 1, 1", expect = ACCEPTABLE, desc = "free first: number 1 reused by a new handle")
@Outcome(id = "0, 2, 1, 0", expect = ACCEPTABLE, desc = "alloc first: ID 2, number 1 gone")
@Outcome(expect = FORBIDDEN, desc = "the stale handle revived or still found, or the new one not found")
@State
public class IoasidAllocRacingFreeTest {
    private final IoasidCore core = Races.smallCore(4);
    private final IoasidSet set = Races.anySet(core);
    private final IoasidHandle old = core.alloc(set, 1, 15, null);
    private IoasidHandle fresh;

    @Actor
    public void freer() {
        core.free(old);
    }

    @Actor
    public void allocator() {
        fresh = core.alloc(set, 1, 15, null);
    }

    @Arbiter
    public void check(IIII_Result r) {
        r.r1 = old.state().ordinal();
        r.r2 = fresh.id();
        r.r3 = core.find(null, fresh.id()) == fresh ? 1 : 0;
        try {
            r.r4 = core.find(null, 1) == old ? 2 : 1;
        } catch (IoasidException e) {
            r.r4 = 0;
        }
    }
}
