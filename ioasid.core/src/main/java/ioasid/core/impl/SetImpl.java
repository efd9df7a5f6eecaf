package ioasid.core.impl;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.HashMap;
import java.util.Map;

import ioasid.api.IoasidSet;
import ioasid.api.SetOwner;
import ioasid.api.SetState;
import ioasid.api.TokenType;

/** An IOASID set. Mutable fields are written under the core lock only. */
final class SetImpl implements IoasidSet {
    private static final VarHandle SIZE;

    static {
        try {
            SIZE = MethodHandles.lookup().findVarHandle(SetImpl.class, "size", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final IoasidCore owner;
    final int id;
    final TokenType type;
    final Object token;
    final int quota;
    /** The platform component that alone may free the set (D19); null when anyone may. */
    final SetOwner ownedBy;
    /** Live IDs, FREE_PENDING ones included. Written under the core lock, read by size(). */
    int size;
    /** Allocations in flight through a custom allocator; they count against the quota. */
    int inFlight;
    volatile SetState state = SetState.ACTIVE;
    /** SPID to handle; created on the first attach. */
    Map<Integer, HandleImpl> spids;
    /** The listeners this set's events go to, in chain order (D12). */
    volatile ListenerEntry[] chain = ListenerEntry.NONE;
    /** Union of the event masks of {@link #chain}: an event nobody wants is never made. */
    int chainMask;

    SetImpl(IoasidCore owner, int id, TokenType type, Object token, int quota,
            SetOwner ownedBy) {
        this.owner = owner;
        this.id = id;
        this.type = type;
        this.token = token;
        this.quota = quota;
        this.ownedBy = ownedBy;
    }

    Map<Integer, HandleImpl> spids() {
        if (spids == null) {
            spids = new HashMap<>();
        }
        return spids;
    }

    int spidCount() {
        return spids == null ? 0 : spids.size();
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public TokenType tokenType() {
        return type;
    }

    @Override
    public Object token() {
        return token;
    }

    @Override
    public int quota() {
        return quota;
    }

    @Override
    public int size() {
        return (int) SIZE.getAcquire(this);
    }

    @Override
    public SetState state() {
        return state;
    }

    @Override
    public String toString() {
        return "IOASID set " + id + " [" + type + (token != null ? " " + token : "") + ", quota "
                + quota + ", size " + size + ", " + state
                + (ownedBy != null ? ", owned by " + ownedBy : "") + "]";
    }
}
