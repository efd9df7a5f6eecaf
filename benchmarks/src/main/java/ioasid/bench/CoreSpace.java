package ioasid.bench;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.core.impl.IoasidCore;

/** The platform's core as shipped: IDs allocated in one set, found with the set check. */
public final class CoreSpace implements IdSpace {
    /** A listener stall limit far beyond any benchmark's iteration. */
    private static final long STALL_MS = 60_000;

    public final IoasidCore core;
    public final IoasidSet set;

    public CoreSpace() {
        this(new IoasidCore(20, STALL_MS));
    }

    public CoreSpace(IoasidCore core) {
        this.core = core;
        this.set = core.createSet(TokenType.NONE, null, 0);
    }

    @Override
    public Object alloc(int min, int max) {
        return core.alloc(set, min, max, null);
    }

    @Override
    public void free(Object handle) {
        core.free((IoasidHandle) handle);
    }

    @Override
    public Object find(int id) {
        return core.find(set, id);
    }

    @Override
    public int id(Object handle) {
        return ((IoasidHandle) handle).id();
    }
}
