package ioasid.remote.impl;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;

/*
 * An ID the guest holds on its host, known by its SPID: the ID the guest sees (D3 handles, rule
 * 73 SPIDs). Its state turns FREE when it is freed or lost; a lost one is also revoked (D7: taken
 * from the guest, not given back by it).
 */
final class RemoteHandle implements IoasidHandle {
    private final int spid;
    private final RemoteSet set;
    private final Object data;
    volatile IoasidState state = IoasidState.IDLE;
    volatile boolean lost;

    RemoteHandle(int spid, RemoteSet set, Object data) {
        this.spid = spid;
        this.set = set;
        this.data = data;
    }

    @Override
    public int id() {
        return spid;
    }

    @Override
    public IoasidSet set() {
        return set;
    }

    RemoteSet remoteSet() {
        return set;
    }

    @Override
    public IoasidState state() {
        return state;
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
        return state == IoasidState.FREE ? 0 : 1;
    }

    @Override
    public boolean revoked() {
        return lost;
    }

    @Override
    public String toString() {
        return "remote PASID " + spid + (lost ? " (lost)" : "");
    }
}
