package ioasid.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.core.impl.IoasidCore;

/**
 * The lock-free read path (rule 6, D3): one thread allocates ID 1, another looks it up with
 * {@code find} and reads every field of the handle. The table slot is written with a release
 * store and read with an acquire load, so a reader that sees the handle sees it whole: its ID,
 * its set, IDLE with one reference, its private data. Never a torn handle.
 *
 * <p>r1: the ID allocated. r2: 1 when find saw a whole handle, the negated errno when it found
 * nothing, 100 + a bit mask of the torn fields otherwise (1 id, 2 set, 4 state, 8 data, 16 refs).
 */
@JCStressTest
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "find ran after the publication and saw the whole handle")
@Outcome(id = "1, -2", expect = ACCEPTABLE, desc = "find ran before the publication: ENOENT")
@Outcome(expect = FORBIDDEN, desc = "a torn handle, or a wrong ID")
@State
public class IoasidPublicationTest {
    private static final Object DATA = new Object();

    private final IoasidCore core = Races.smallCore(4);
    private final IoasidSet set = Races.anySet(core);

    @Actor
    public void allocator(II_Result r) {
        r.r1 = core.alloc(set, 1, 15, DATA).id();
    }

    @Actor
    public void reader(II_Result r) {
        try {
            IoasidHandle h = core.find(null, 1);
            int torn = 0;
            if (h.id() != 1) {
                torn |= 1;
            }
            if (h.set() != set) {
                torn |= 2;
            }
            if (h.state() != IoasidState.IDLE) {
                torn |= 4;
            }
            if (h.privateData() != DATA) {
                torn |= 8;
            }
            if (h.refCount() != 1) {
                torn |= 16;
            }
            r.r2 = torn == 0 ? 1 : 100 + torn;
        } catch (IoasidException e) {
            r.r2 = Races.code(e);
        }
    }
}
