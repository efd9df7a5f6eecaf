package ioasid.core.impl;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.EOVERFLOW;

import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;

/**
 * One allocated ID. Kept to 32 bytes (five 4-byte fields and a compressed header) because there
 * is one per live ID: the reference count and the state flags share one word, changed by
 * compare-and-set so that get and put need no lock.
 *
 * <p>Fields are plain and accessed through VarHandles: the constructor writes them without fences
 * (the handle is published by a release store into the core's table), the core writes {@code spid}
 * and {@code data} under its lock with release stores, and lock-free readers use acquire loads.
 */
final class HandleImpl implements IoasidHandle {
    /** free() was called or the ID was revoked: FREE_PENDING, no new references. */
    static final int FREED = 1;
    /** Its ID space's last allocator left while it was live (D7). */
    static final int REVOKED = 2;
    static final int REF_SHIFT = 2;
    static final int ONE_REF = 1 << REF_SHIFT;
    private static final int MAX_REFS = (Integer.MAX_VALUE >>> REF_SHIFT) - 1;

    private static final VarHandle WORD;
    private static final VarHandle SPID;
    private static final VarHandle DATA;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            WORD = l.findVarHandle(HandleImpl.class, "word", int.class);
            SPID = l.findVarHandle(HandleImpl.class, "spid", int.class);
            DATA = l.findVarHandle(HandleImpl.class, "data", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final int id;
    final SetImpl set;
    /** References in the high bits, FREED and REVOKED below; 0 references means reclaimed. */
    private int word = ONE_REF;
    private int spid = Ioasid.INVALID;
    private Object data;

    HandleImpl(int id, SetImpl set, Object data) {
        this.id = id;
        this.set = set;
        this.data = data;
    }

    int word() {
        return (int) WORD.getAcquire(this);
    }

    boolean cas(int expected, int next) {
        return WORD.compareAndSet(this, expected, next);
    }

    int spidAcquire() {
        return (int) SPID.getAcquire(this);
    }

    /** Under the core lock. */
    void spid(int value) {
        SPID.setRelease(this, value);
    }

    Object dataAcquire() {
        return DATA.getAcquire(this);
    }

    /** Under the core lock. */
    void data(Object value) {
        DATA.setRelease(this, value);
    }

    static int refs(int word) {
        return word >>> REF_SHIFT;
    }

    /** Reclaimed, or on its way there: the last reference is gone, and none can be taken. */
    static boolean dead(int word) {
        return refs(word) == 0;
    }

    /** Refuses a reclaimed handle: its number may belong to another ID by now. */
    static void checkLive(HandleImpl h, int word) {
        if (dead(word)) {
            throw new IoasidException(ENOENT, "IOASID " + h.id + " was freed (stale handle)");
        }
    }

    /**
     * Takes a reference unless the count already reached zero, which is final. A lookup by
     * number that finds a handle whose last put is under way treats the number as gone: that put
     * came first.
     */
    boolean tryGet() {
        int w;
        do {
            w = word();
            if (dead(w)) {
                return false;
            }
            if ((w & FREED) != 0) {
                throw new IoasidException(EBUSY, "IOASID " + id + " is FREE_PENDING");
            }
            if (refs(w) >= MAX_REFS) {
                throw new IoasidException(EOVERFLOW, "IOASID " + id + " has too many references");
            }
        } while (!cas(w, w + ONE_REF));
        return true;
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
        return state(word());
    }

    @Override
    public Object privateData() {
        return dataAcquire();
    }

    @Override
    public int spid() {
        return spidAcquire();
    }

    @Override
    public int refCount() {
        return refs(word());
    }

    @Override
    public boolean revoked() {
        return (word() & REVOKED) != 0;
    }

    @Override
    public String toString() {
        return "IOASID " + id + " [set " + set.id + ", " + state() + ", refs " + refCount()
                + (spid() != Ioasid.INVALID ? ", spid " + spid() : "") + (revoked() ? ", revoked" : "")
                + "]";
    }
}
