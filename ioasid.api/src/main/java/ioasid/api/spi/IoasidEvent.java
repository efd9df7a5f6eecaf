package ioasid.api.spi;

import java.util.Objects;

import org.osgi.annotation.versioning.ProviderType;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;

/**
 * One state transition of one IOASID, as it was when it happened (rule 78's {@code nb_args}).
 * The handle lets a listener get or put a reference without a lookup.
 *
 * <p>The core makes each event under its lock, as the transition happens, and delivers it after
 * releasing the lock. An event never changes, so a listener may keep it or hand it to another
 * thread; only {@link #handle()} tells the present.
 */
@ProviderType
public final class IoasidEvent {
    private final EventType type;
    private final IoasidHandle handle;
    private final int id;
    private final int spid;
    private final IoasidSet set;
    private final Object privateData;
    private final boolean replay;
    private final long sequence;

    public IoasidEvent(EventType type, IoasidHandle handle, int id, int spid, IoasidSet set,
            Object privateData, boolean replay, long sequence) {
        this.type = Objects.requireNonNull(type, "type");
        this.handle = Objects.requireNonNull(handle, "handle");
        this.id = id;
        this.spid = spid;
        this.set = Objects.requireNonNull(set, "set");
        this.privateData = privateData;
        this.replay = replay;
        this.sequence = sequence;
    }

    public EventType type() {
        return type;
    }

    /** The ID's handle; its state is the current one, not the one at the event. */
    public IoasidHandle handle() {
        return handle;
    }

    public int id() {
        return id;
    }

    /** The SPID at the event, or {@link ioasid.api.Ioasid#INVALID}. */
    public int spid() {
        return spid;
    }

    public IoasidSet set() {
        return set;
    }

    /** The private data at the event. */
    public Object privateData() {
        return privateData;
    }

    /**
     * Whether this event replays state that existed before the listener arrived (decision D15),
     * rather than a transition happening now.
     */
    public boolean replay() {
        return replay;
    }

    /**
     * The position of the transition in the service's history: transitions of one ID have
     * increasing sequence numbers; replays carry the sequence of the moment they were made.
     */
    public long sequence() {
        return sequence;
    }

    @Override
    public String toString() {
        return type + (replay ? "(replay)" : "") + " id=" + id + " spid=" + spid + " set="
                + set.id() + " seq=" + sequence;
    }
}
