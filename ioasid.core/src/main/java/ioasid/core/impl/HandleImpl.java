package ioasid.core.impl;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import ioasid.api.Ioasid;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;

/**
 * One allocated ID. Kept to 32 bytes (five 4-byte fields and a compressed header) because there
 * is one per live ID: the reference count and the state flags share one word, changed by
 * compare-and-set so that get and put need no lock.
 */
final class HandleImpl implements IoasidHandle {
    /** free() was called: FREE_PENDING, no new references. */
    static final int FREED = 1;
    /** Its ID space's last allocator left while it was live (D7). */
    static final int REVOKED = 2;
    /** Reclaimed: the handle is stale. */
    static final int RECLAIMED = 4;
    static final int REF_SHIFT = 3;
    static final int ONE_REF = 1 << REF_SHIFT;

    private static final VarHandle WORD;

    static {
        try {
            WORD = MethodHandles.lookup().findVarHandle(HandleImpl.class, "word", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final int id;
    final SetImpl set;
    volatile int word = ONE_REF;
    /** Written under the core lock only. */
    volatile int spid = Ioasid.INVALID;
    volatile Object data;

    HandleImpl(int id, SetImpl set, Object data) {
        this.id = id;
        this.set = set;
        this.data = data;
    }

    boolean cas(int expected, int next) {
        return WORD.compareAndSet(this, expected, next);
    }

    static int refs(int word) {
        return word >>> REF_SHIFT;
    }

    /** Reclaimed, or on its way there (last reference dropped, reclaim not yet done). */
    static boolean dead(int word) {
        return (word & RECLAIMED) != 0 || refs(word) == 0;
    }

    static IoasidState state(int w) {
        if (dead(w)) {
            return IoasidState.FREE;
        }
        if ((w & FREED) != 0) {
            return IoasidState.FREE_PENDING;
        }
        return refs(w) > 1 ? IoasidState.ACTIVE : IoasidState.IDLE;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public IoasidSet set() {
        return set;
    }

    @Override
    public IoasidState state() {
        return state(word);
    }

    @Override
    public Object privateData() {
        return data;
    }

    @Override
    public int spid() {
        return spid;
    }

    @Override
    public int refCount() {
        return refs(word);
    }

    @Override
    public boolean revoked() {
        return (word & REVOKED) != 0;
    }

    @Override
    public String toString() {
        return "IOASID " + id + " [set " + set.id + ", " + state() + ", refs " + refCount()
                + (spid != Ioasid.INVALID ? ", spid " + spid : "") + (revoked() ? ", revoked" : "")
                + "]";
    }
}
