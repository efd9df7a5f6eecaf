package ioasid.core.impl;

import static ioasid.api.Errno.EACCES;
import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.core.impl.IoasidFixture.Recorder;

/** References and states: rules 66-72, 85-87; decision D10. */
class ReferenceAndStateTest {
    private final IoasidFixture fx = new IoasidFixture();
    private final IoasidCore core = fx.core;
    private final IoasidSet set = core.createSet(TokenType.NONE, "vm1", 100);
    private final IoasidSet other = core.createSet(TokenType.NONE, "vm2", 100);
    private final Recorder rec = new Recorder("iommu");

    {
        fx.register(rec);
    }

    @Test
    @DisplayName("rule 66: a new ID is IDLE with one reference and no SPID")
    void newIdIdle() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        assertEquals(IoasidState.IDLE, h.state());
        assertEquals(1, h.refCount());
        assertEquals(-1, h.spid());
        assertFalse(h.revoked());
    }

    @Test
    @DisplayName("rule 72: get-if-owned takes a reference on the caller's own MM set's ID")
    void getIfOwned() {
        Object mm = "mm-7";
        IoasidSet mine = core.createSet(TokenType.MM, mm, 10);
        IoasidHandle h = core.alloc(mine, 1, 10, null);
        assertSame(h, core.getIfOwned("mm-7", h.id()));
        assertEquals(2, h.refCount());
    }

    @Test
    @DisplayName("rule 72: get-if-owned is ENOENT unknown, EINVAL non-MM, EPERM another mm, "
            + "EBUSY FREE_PENDING")
    void getIfOwnedErrors() {
        IoasidSet mm1 = core.createSet(TokenType.MM, "mm-1", 10);
        IoasidHandle h = core.alloc(mm1, 1, 10, null);
        IoasidHandle plain = core.alloc(set, 1, 10, null);
        fx.unchanged(ENOENT, () -> core.getIfOwned("mm-1", 9));
        fx.unchanged(EINVAL, () -> core.getIfOwned("vm1", plain.id()));
        fx.unchanged(ioasid.api.Errno.EPERM, () -> core.getIfOwned("mm-2", h.id()));
        fx.unchanged(EINVAL, () -> core.getIfOwned(null, h.id()));
        fx.unchanged(EINVAL, () -> core.getIfOwned("mm-1", -1));
        core.get(h);
        core.free(h);
        fx.unchanged(EBUSY, () -> core.getIfOwned("mm-1", h.id()));
    }

    @Test
    @DisplayName("D7: snapshots mark revoked IDs")
    void idsDtoRevoked() {
        IoasidFixture.SpaceAllocator a = new IoasidFixture.SpaceAllocator(
                new IoasidFixture.SpaceAllocator.Helpers("host", 50), "a");
        long sid = fx.register(a);
        IoasidHandle h = core.alloc(set, 1, 100, null);
        core.get(h);
        fx.unregister(a, sid);
        var d = core.ids(null, 10)[0];
        assertTrue(d.revoked);
        assertEquals("FREE_PENDING", d.state);
        assertEquals(1, d.refs);
    }

    @Test
    @DisplayName("rule 85: IDLE to ACTIVE while users hold references, and back")
    void idleActive() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        core.get(h);
        core.get(set, h.id());
        assertEquals(IoasidState.ACTIVE, h.state());
        assertEquals(3, h.refCount());
        core.put(h);
        core.put(set, h.id());
        assertEquals(IoasidState.IDLE, h.state());
    }

    @Test
    @DisplayName("rule 67: freeing a FREE_PENDING ID again does nothing and notifies nothing")
    void secondFreeSilent() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        core.get(h);
        core.free(h);
        core.free(h);
        core.free(set, h.id());
        assertEquals(List.of("ALLOC 1", "FREE 1"), rec.seen());
        assertEquals(1, h.refCount());
    }

    @Test
    @DisplayName("rule 67: freeing an ID of another set is EACCES and changes nothing")
    void freeOtherSet() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        fx.unchanged(EACCES, () -> core.free(other, h.id()));
        assertEquals(IoasidState.IDLE, h.state());
    }

    @Test
    @DisplayName("rule 68: free with references left goes FREE_PENDING and sends FREE once")
    void freeWithRefs() {
        IoasidHandle h = core.alloc(set, 1, 10, "ctx");
        core.get(h);
        core.free(h);
        assertEquals(IoasidState.FREE_PENDING, h.state());
        assertEquals(1, h.refCount(), "the allocation reference was dropped");
        assertSame(h, core.find(set, h.id()), "still allocated");
        assertEquals(List.of("ALLOC 1", "FREE 1"), rec.seen());
        assertEquals("ctx", rec.events.get(1).privateData());
    }

    @Test
    @DisplayName("rule 68, D13: free of an IDLE ID reclaims at once and still sends one FREE")
    void freeIdle() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        core.free(h);
        assertEquals(IoasidState.FREE, h.state());
        assertEquals(List.of("ALLOC 1", "FREE 1"), rec.seen());
    }

    @Test
    @DisplayName("rule 69: reclaim frees the ID, the set slot and the lookup entry")
    void reclaim() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        core.get(h);
        core.free(h);
        assertTrue(core.put(h));
        assertEquals(IoasidState.FREE, h.state());
        assertEquals(0, set.size());
        fx.unchanged(ENOENT, () -> core.find(null, 1));
        assertEquals(1, core.alloc(set, 1, 10, null).id());
    }

    @Test
    @DisplayName("rule 70, D10: get is EINVAL unknown, EBUSY FREE_PENDING, EACCES other set")
    void getErrors() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        fx.unchanged(EINVAL, () -> core.get(set, 5));
        fx.unchanged(EACCES, () -> core.get(other, h.id()));
        core.get(h);
        core.free(h);
        fx.unchanged(EBUSY, () -> core.get(h));
        fx.unchanged(EBUSY, () -> core.get(set, h.id()));
        fx.unchanged(EINVAL, () -> core.get(set, -1));
    }

    @Test
    @DisplayName("rule 71: put of an unknown ID or one of another set fails and changes nothing")
    void putErrors() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        fx.unchanged(ENOENT, () -> core.put(set, 5));
        fx.unchanged(EACCES, () -> core.put(other, h.id()));
        fx.unchanged(EINVAL, () -> core.put(set, 1 << 20));
        assertEquals(1, h.refCount());
    }

    @Test
    @DisplayName("rule 71, D13: dropping the allocation reference with put reclaims, with one FREE")
    void putWithoutFree() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        assertTrue(core.put(h));
        assertEquals(IoasidState.FREE, h.state());
        assertEquals(List.of("ALLOC 1", "FREE 1"), rec.seen());
    }

    @Test
    @DisplayName("rule 86: one notification per transition through a full life cycle")
    void levelSensitive() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        core.attachSpid(h, 7);
        core.get(h);
        core.free(h);
        core.free(h);
        core.detachSpid(h);
        core.put(h);
        assertEquals(List.of("ALLOC 1", "BIND 1", "FREE 1", "UNBIND 1"), rec.seen());
    }

    @Test
    @DisplayName("rule 87: a FREE handler may drop the last reference and end FREE_PENDING")
    void putFromFreeHandler() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        core.get(h); // the user's reference, taken before the FREE event
        rec.action = e -> {
            if (e.type() == ioasid.api.spi.EventType.FREE) {
                core.put(e.handle());
            }
        };
        core.free(h);
        assertEquals(IoasidState.FREE, h.state());
        assertEquals(0, set.size());
    }

    @Test
    @DisplayName("D10: find returns a FREE_PENDING ID with its state visible")
    void findPending() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        core.get(h);
        core.free(h);
        assertEquals(IoasidState.FREE_PENDING, core.find(null, h.id()).state());
    }

    @Test
    @DisplayName("a stale handle after reclaim: get EINVAL, put ENOENT, free ENOENT")
    void staleHandleErrors() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        core.free(h);
        fx.unchanged(EINVAL, () -> core.get(h));
        fx.unchanged(ENOENT, () -> core.put(h));
        fx.unchanged(ENOENT, () -> core.free(h));
    }

    @Test
    @DisplayName("snapshots list live IDs with state, refs and SPID, per set and limited")
    void idsDto() {
        IoasidHandle a = core.alloc(set, 1, 10, "pa");
        IoasidHandle b = core.alloc(other, 1, 10, null);
        core.get(a);
        core.attachSpid(a, 44);
        var all = core.ids(null, 100);
        assertEquals(2, all.length);
        assertEquals("ACTIVE", all[0].state);
        assertEquals(2, all[0].refs);
        assertEquals(44, all[0].spid);
        assertEquals("pa", all[0].privateData);
        assertEquals(b.id(), core.ids(other, 100)[0].id);
        assertEquals(1, core.ids(null, 1).length);
        fx.unchanged(EINVAL, () -> core.ids(null, -1));
    }
}
