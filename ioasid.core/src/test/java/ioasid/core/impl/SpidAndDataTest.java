package ioasid.core.impl;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Ioasid;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.spi.IoasidListener;
import ioasid.core.impl.IoasidFixture.Recorder;

/** Set-private IDs and private data: rules 5, 8, 73-76; decisions D10, D11. */
class SpidAndDataTest {
    private final IoasidFixture fx = new IoasidFixture();
    private final IoasidCore core = fx.core;
    private final IoasidSet vm1 = core.createSet(TokenType.NONE, "vm1", 100);
    private final IoasidSet vm2 = core.createSet(TokenType.NONE, "vm2", 100);
    private final Recorder rec = new Recorder("kvm1");

    {
        fx.register(rec, IoasidListener.SCOPE, "set", IoasidListener.SET_TOKEN, "vm1");
    }

    @Test
    @DisplayName("rule 73: attach sets the SPID and sends BIND on the set's chain")
    void attach() {
        IoasidHandle h = core.alloc(vm1, 201, 300, null);
        core.attachSpid(h, 101);
        assertEquals(101, h.spid());
        assertEquals(List.of("ALLOC 201", "BIND 201"), rec.seen());
        assertEquals(101, rec.events.get(1).spid());
    }

    @Test
    @DisplayName("rule 73: two sets may use the same SPID for different IDs (guest PASID 101)")
    void sameSpidTwoSets() {
        IoasidHandle h1 = core.alloc(vm1, 201, 300, null);
        IoasidHandle h2 = core.alloc(vm2, 201, 300, null);
        core.attachSpid(h1, 101);
        core.attachSpid(h2, 101);
        assertSame(h1, core.findBySpid(vm1, 101, false));
        assertSame(h2, core.findBySpid(vm2, 101, false));
        assertEquals(201, h1.id());
        assertEquals(202, h2.id());
    }

    @Test
    @DisplayName("rule 73: a SPID in use in the set is EINVAL; an invalid SPID is EINVAL")
    void attachErrors() {
        IoasidHandle h1 = core.alloc(vm1, 1, 10, null);
        IoasidHandle h2 = core.alloc(vm1, 1, 10, null);
        core.attachSpid(h1, 5);
        fx.unchanged(EINVAL, () -> core.attachSpid(h2, 5));
        fx.unchanged(EINVAL, () -> core.attachSpid(h2, Ioasid.INVALID));
        fx.unchanged(EINVAL, () -> core.attachSpid(h2, -7));
        fx.unchanged(EINVAL, () -> core.attachSpid(h2, 1 << 20));
        assertEquals(Ioasid.INVALID, h2.spid());
    }

    @Test
    @DisplayName("D11: attaching a second SPID is EBUSY, not an overwrite with a second BIND")
    void noOverwrite() {
        IoasidHandle h = core.alloc(vm1, 1, 10, null);
        core.attachSpid(h, 5);
        fx.unchanged(EBUSY, () -> core.attachSpid(h, 6));
        assertEquals(5, h.spid());
        assertEquals(1, rec.count(ioasid.api.spi.EventType.BIND));
    }

    @Test
    @DisplayName("rule 73: a FREE_PENDING ID takes no new SPID (EBUSY); a stale one is ENOENT")
    void attachToFreeing() {
        IoasidHandle h = core.alloc(vm1, 1, 10, null);
        core.get(h);
        core.free(h);
        fx.unchanged(EBUSY, () -> core.attachSpid(h, 5));
        core.put(h);
        fx.unchanged(ENOENT, () -> core.attachSpid(h, 5));
    }

    @Test
    @DisplayName("rule 74: UNBIND carries the SPID being detached (nb_args), which is then cleared")
    void detach() {
        IoasidHandle h = core.alloc(vm1, 1, 10, null);
        core.attachSpid(h, 9);
        int[] seen = {0};
        rec.action = e -> {
            if (e.type() == ioasid.api.spi.EventType.UNBIND) {
                seen[0] = e.spid();
            }
        };
        core.detachSpid(h);
        assertEquals(9, seen[0]);
        assertEquals(Ioasid.INVALID, h.spid());
        fx.unchanged(ENOENT, () -> core.findBySpid(vm1, 9, false));
        core.attachSpid(h, 9);
    }

    @Test
    @DisplayName("rule 74: detach without a SPID is EINVAL; on a stale handle ENOENT")
    void detachErrors() {
        IoasidHandle h = core.alloc(vm1, 1, 10, null);
        fx.unchanged(EINVAL, () -> core.detachSpid(h));
        core.free(h);
        fx.unchanged(ENOENT, () -> core.detachSpid(h));
    }

    @Test
    @DisplayName("rule 75: find by SPID, with and without a reference")
    void findBySpid() {
        IoasidHandle h = core.alloc(vm1, 1, 10, null);
        core.attachSpid(h, 33);
        assertSame(h, core.findBySpid(vm1, 33, false));
        assertEquals(1, h.refCount());
        assertSame(h, core.findBySpid(vm1, 33, true));
        assertEquals(2, h.refCount());
        fx.unchanged(ENOENT, () -> core.findBySpid(vm2, 33, false));
        fx.unchanged(ENOENT, () -> core.findBySpid(vm1, 34, true));
        fx.unchanged(EINVAL, () -> core.findBySpid(vm1, -1, false));
        fx.unchanged(EINVAL, () -> core.findBySpid(null, 33, false));
    }

    @Test
    @DisplayName("rule 75, D10: find by SPID with get on a FREE_PENDING ID is EBUSY")
    void findBySpidPending() {
        IoasidHandle h = core.alloc(vm1, 1, 10, null);
        core.attachSpid(h, 33);
        core.get(h);
        core.free(h);
        assertSame(h, core.findBySpid(vm1, 33, false));
        fx.unchanged(EBUSY, () -> core.findBySpid(vm1, 33, true));
    }

    @Test
    @DisplayName("rule 75: find by SPID on a freed set is EINVAL")
    void findBySpidFreedSet() {
        IoasidSet s = core.createSet(TokenType.NONE, "gone", 1);
        core.freeSet(s);
        fx.unchanged(EINVAL, () -> core.findBySpid(s, 1, false));
    }

    @Test
    @DisplayName("D13: an ID reclaimed with a SPID sends UNBIND and frees the SPID for reuse")
    void reclaimUnbinds() {
        IoasidHandle h = core.alloc(vm1, 1, 10, null);
        core.attachSpid(h, 5);
        core.free(h);
        assertEquals(List.of("ALLOC 1", "BIND 1", "FREE 1", "UNBIND 1"), rec.seen());
        IoasidHandle again = core.alloc(vm1, 1, 10, null);
        core.attachSpid(again, 5);
        assertEquals(IoasidState.FREE, h.state());
    }

    @Test
    @DisplayName("S6 ioasid_notify: a publisher sends BIND and UNBIND, carrying the SPID")
    void explicitNotify() {
        IoasidHandle h = core.alloc(vm1, 1, 10, null);
        core.attachSpid(h, 12);
        core.notify(h, ioasid.api.spi.EventType.BIND);
        core.notify(h, ioasid.api.spi.EventType.UNBIND);
        assertEquals(List.of("ALLOC 1", "BIND 1", "BIND 1", "UNBIND 1"), rec.seen());
        assertEquals(12, rec.events.get(2).spid());
    }

    @Test
    @DisplayName("S6 ioasid_notify: other types EINVAL, stale ENOENT, BIND on FREE_PENDING EBUSY")
    void explicitNotifyErrors() {
        IoasidHandle h = core.alloc(vm1, 1, 10, null);
        fx.unchanged(EINVAL, () -> core.notify(h, ioasid.api.spi.EventType.FREE));
        fx.unchanged(EINVAL, () -> core.notify(h, ioasid.api.spi.EventType.ALLOC));
        core.get(h);
        core.free(h);
        fx.unchanged(EBUSY, () -> core.notify(h, ioasid.api.spi.EventType.BIND));
        // the publisher's clean-up is allowed, and sends nothing: no BIND went out to undo
        core.notify(h, ioasid.api.spi.EventType.UNBIND);
        core.put(h);
        fx.unchanged(ENOENT, () -> core.notify(h, ioasid.api.spi.EventType.UNBIND));
        assertEquals(List.of("ALLOC 1", "FREE 1"), rec.seen());
    }

    @Test
    @DisplayName("S6 ioasid_notify: an UNBIND answers a BIND sent, also on a FREE_PENDING ID; "
            + "binds left when the ID is reclaimed get their UNBIND then")
    void explicitNotifyPairs() {
        IoasidHandle h = core.alloc(vm1, 1, 10, null);
        core.get(h); // the publisher's reference
        core.notify(h, ioasid.api.spi.EventType.BIND);
        core.notify(h, ioasid.api.spi.EventType.BIND);
        core.free(h);
        core.notify(h, ioasid.api.spi.EventType.UNBIND);
        assertEquals(List.of("ALLOC 1", "BIND 1", "BIND 1", "FREE 1", "UNBIND 1"), rec.seen());
        core.put(h); // dropped without its second UNBIND
        assertEquals(List.of("ALLOC 1", "BIND 1", "BIND 1", "FREE 1", "UNBIND 1", "UNBIND 1"),
                rec.seen());
    }

    @Test
    @DisplayName("D15: a listener arriving later is replayed the BINDs sent through notify")
    void explicitNotifyReplayed() {
        IoasidHandle h = core.alloc(vm1, 1, 10, null);
        core.attachSpid(h, 4);
        core.notify(h, ioasid.api.spi.EventType.BIND);
        Recorder late = new Recorder("late");
        fx.register(late, IoasidListener.SCOPE, "set", IoasidListener.SET_TOKEN, "vm1");
        assertEquals(List.of("ALLOC* 1", "BIND* 1", "BIND* 1"), late.seen()); // * replayed
        assertTrue(late.events.stream().skip(1).allMatch(e -> e.spid() == 4));
        core.notify(h, ioasid.api.spi.EventType.UNBIND);
        core.detachSpid(h);
        core.free(h);
        assertEquals(List.of("ALLOC* 1", "BIND* 1", "BIND* 1", "UNBIND 1", "UNBIND 1", "FREE 1"),
                late.seen());
    }

    @Test
    @DisplayName("rule 76: attach data is EBUSY when data is there; detach returns it")
    void attachDetachData() {
        IoasidHandle h = core.alloc(vm1, 1, 10, null);
        core.attachData(h, "ctx");
        assertEquals("ctx", h.privateData());
        fx.unchanged(EBUSY, () -> core.attachData(h, "other"));
        fx.unchanged(EINVAL, () -> core.attachData(h, null));
        assertEquals("ctx", core.detachData(h));
        assertNull(h.privateData());
        assertNull(core.detachData(h));
        core.attachData(h, "again");
        core.free(h);
        fx.unchanged(ENOENT, () -> core.attachData(h, "late"));
        fx.unchanged(ENOENT, () -> core.detachData(h));
    }

    @Test
    @DisplayName("rule 5: events carry the private data at the time of the transition")
    void eventsCarryData() {
        IoasidHandle h = core.alloc(vm1, 1, 10, "first");
        core.setData(h, "second");
        core.attachSpid(h, 3);
        assertEquals("first", rec.events.get(0).privateData());
        assertEquals("second", rec.events.get(1).privateData());
    }
}
