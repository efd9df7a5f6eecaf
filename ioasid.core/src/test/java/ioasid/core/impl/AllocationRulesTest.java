package ioasid.core.impl;

import static ioasid.api.Errno.EACCES;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOSPC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Ioasid;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.testkit.Expect;

/** The merged allocator's rules 1-12 and decisions D1-D3 on the default allocator. */
class AllocationRulesTest {
    private final IoasidFixture fx = new IoasidFixture();
    private final IoasidCore core = fx.core;
    private final IoasidSet set = core.createSet(TokenType.NONE, "vm1", 1000);

    @Test
    @DisplayName("rule 1: INVALID is (ioasid_t)-1 and ID 0 is the no-PASID ID")
    void constants() {
        assertEquals(0xFFFFFFFF, Ioasid.INVALID);
        assertEquals(0, Ioasid.NO_PASID);
        assertEquals(0xFFFFF, Ioasid.MAX_ID);
    }

    @Test
    @DisplayName("rule 2: the range is inclusive at both ends")
    void inclusiveRange() {
        assertEquals(7, core.alloc(set, 7, 7, null).id());
        IoasidHandle a = core.alloc(set, 8, 9, null);
        IoasidHandle b = core.alloc(set, 8, 9, null);
        assertEquals(8, a.id());
        assertEquals(9, b.id());
        fx.unchanged(ENOSPC, () -> core.alloc(set, 7, 9, null));
    }

    @Test
    @DisplayName("rule 3: an exhausted range fails with ENOSPC and allocates nothing")
    void exhausted() {
        for (int i = 0; i < 4; i++) {
            core.alloc(set, 100, 103, null);
        }
        fx.unchanged(ENOSPC, () -> core.alloc(set, 100, 103, null));
        assertEquals(4, set.size());
        assertEquals(4, core.stats().live);
    }

    @Test
    @DisplayName("rule 4: the lowest free ID is handed out, holes first")
    void lowestFree() {
        List<IoasidHandle> hs = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            hs.add(core.alloc(set, 1, Ioasid.MAX_ID, null));
        }
        assertEquals(1, hs.get(0).id());
        assertEquals(200, hs.get(199).id());
        core.free(hs.get(129)); // ID 130
        core.free(hs.get(63)); // ID 64
        assertEquals(64, core.alloc(set, 1, Ioasid.MAX_ID, null).id());
        assertEquals(130, core.alloc(set, 1, Ioasid.MAX_ID, null).id());
        assertEquals(201, core.alloc(set, 1, Ioasid.MAX_ID, null).id());
        fx.unchanged(ENOSPC, () -> core.alloc(set, 150, 150, null));
    }

    @Test
    @DisplayName("rule 4: the lowest free ID at or above min, across word boundaries")
    void lowestFreeAboveMin() {
        IoasidSet big = core.createSet(TokenType.NONE, "big", 100_000);
        for (int i = 0; i < 70_000; i++) {
            core.alloc(big, 1000, Ioasid.MAX_ID, null);
        }
        assertEquals(71_000, core.alloc(big, 1000, Ioasid.MAX_ID, null).id());
        assertEquals(1, core.alloc(big, 1, Ioasid.MAX_ID, null).id());
        assertEquals(71_001, core.alloc(big, 64 * 500 + 3, Ioasid.MAX_ID, null).id());
    }

    @Test
    @DisplayName("rule 5: private data is stored at allocation and may be null")
    void privateData() {
        Object pdata = new Object();
        assertSame(pdata, core.alloc(set, 1, 10, pdata).privateData());
        assertNull(core.alloc(set, 1, 10, null).privateData());
    }

    @Test
    @DisplayName("rule 6: find returns the handle; ENOENT unknown; EACCES other set; null set any")
    void find() {
        IoasidSet other = core.createSet(TokenType.NONE, "vm2", 10);
        IoasidHandle h = core.alloc(set, 1, 10, "p");
        assertSame(h, core.find(set, h.id()));
        assertSame(h, core.find(null, h.id()));
        assertEquals("p", core.find(null, h.id()).privateData());
        fx.unchanged(ENOENT, () -> core.find(set, 2));
        fx.unchanged(EACCES, () -> core.find(other, h.id()));
        fx.unchanged(EINVAL, () -> core.find(null, -5));
        fx.unchanged(EINVAL, () -> core.find(null, 1 << 20));
    }

    @Test
    @DisplayName("rule 7: sets are identities; anonymous sets are distinct")
    void anonymousSets() {
        IoasidSet a = core.createSet(TokenType.NONE, null, 5);
        IoasidSet b = core.createSet(TokenType.NONE, null, 5);
        assertNotSame(a, b);
        IoasidHandle h = core.alloc(a, 1, 10, null);
        fx.unchanged(EACCES, () -> core.find(b, h.id()));
    }

    @Test
    @DisplayName("rule 8: setData replaces the private data; a stale handle is ENOENT")
    void setData() {
        IoasidHandle h = core.alloc(set, 1, 10, "old");
        assertEquals("old", core.setData(h, "new"));
        assertEquals("new", core.find(null, h.id()).privateData());
        assertEquals("new", core.setData(h, null));
        assertNull(h.privateData());
        core.free(h);
        fx.unchanged(ENOENT, () -> core.setData(h, "x"));
    }

    @Test
    @DisplayName("rule 9: free releases the ID; freeing an unknown ID is ENOENT (D2)")
    void freeUnknown() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        core.free(set, h.id());
        assertEquals(IoasidState.FREE, h.state());
        fx.unchanged(ENOENT, () -> core.free(set, h.id()));
        fx.unchanged(ENOENT, () -> core.free(h));
        fx.unchanged(ENOENT, () -> core.find(null, h.id()));
        assertEquals(1, core.alloc(set, 1, 10, null).id());
    }

    @Test
    @DisplayName("rule 9: free by number checks the caller's set (EACCES) and range (EINVAL)")
    void freeByNumberOwnership() {
        IoasidSet other = core.createSet(TokenType.NONE, "vm2", 10);
        IoasidHandle h = core.alloc(set, 1, 10, null);
        fx.unchanged(EACCES, () -> core.free(other, h.id()));
        fx.unchanged(EINVAL, () -> core.free(set, -1));
        fx.unchanged(EINVAL, () -> core.free(set, 1 << 20));
        assertEquals(IoasidState.IDLE, h.state());
    }

    @Test
    @DisplayName("rule 10: refcount starts at 1; get adds; put reports the reclaim")
    void refcount() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        assertEquals(1, h.refCount());
        core.get(h);
        assertEquals(2, h.refCount());
        assertEquals(IoasidState.ACTIVE, h.state());
        assertFalse(core.put(h));
        assertEquals(IoasidState.IDLE, h.state());
        assertTrue(core.put(h));
        assertEquals(IoasidState.FREE, h.state());
        fx.unchanged(ENOENT, () -> core.put(h));
        fx.unchanged(ENOENT, () -> core.put(set, h.id()));
        fx.unchanged(EINVAL, () -> core.get(set, h.id()));
    }

    @Test
    @DisplayName("D1: ID 0 is never handed out; a range outside the space is EINVAL, never clamped")
    void reservedZeroAndRangeChecks() {
        assertEquals(1, core.alloc(set, 1, 1, null).id());
        fx.unchanged(EINVAL, () -> core.alloc(set, 0, 10, null));
        fx.unchanged(EINVAL, () -> core.alloc(set, -3, 10, null));
        fx.unchanged(EINVAL, () -> core.alloc(set, 1, 1 << 20, null));
        fx.unchanged(EINVAL, () -> core.alloc(set, 9, 8, null));
        fx.unchanged(EINVAL, () -> core.alloc(set, Integer.MIN_VALUE, Integer.MAX_VALUE, null));
    }

    @Test
    @DisplayName("D1: a narrower configured space bounds every request")
    void narrowSpace() {
        IoasidFixture small = new IoasidFixture(8, 10_000);
        IoasidSet s = small.core.createSet(TokenType.NONE, null, 0);
        assertEquals(256, s.quota());
        assertEquals(255, small.core.capacity().maxId);
        for (int i = 1; i <= 255; i++) {
            assertEquals(i, small.core.alloc(s, 1, 255, null).id());
        }
        small.unchanged(ENOSPC, () -> small.core.alloc(s, 1, 255, null));
        small.unchanged(EINVAL, () -> small.core.alloc(s, 1, 256, null));
        small.unchanged(EINVAL, () -> small.core.find(null, 256));
    }

    @Test
    @DisplayName("D3: a handle acts without lookup and goes stale after reclaim, even if the ID returns")
    void staleHandle() {
        IoasidHandle h = core.alloc(set, 5, 5, null);
        core.free(h);
        IoasidHandle again = core.alloc(set, 5, 5, null);
        assertNotSame(h, again);
        assertEquals(IoasidState.FREE, h.state());
        fx.unchanged(ENOENT, () -> core.free(h));
        fx.unchanged(EINVAL, () -> core.get(h));
        fx.unchanged(ENOENT, () -> core.put(h));
        fx.unchanged(ENOENT, () -> core.attachSpid(h, 3));
        assertEquals(IoasidState.IDLE, again.state());
    }

    @Test
    @DisplayName("D3: handles and sets of another service instance are EINVAL")
    void foreignHandles() {
        IoasidFixture other = new IoasidFixture();
        IoasidSet foreignSet = other.core.createSet(TokenType.NONE, "x", 10);
        IoasidHandle foreign = other.core.alloc(foreignSet, 1, 10, null);
        fx.unchanged(EINVAL, () -> core.alloc(foreignSet, 1, 10, null));
        fx.unchanged(EINVAL, () -> core.free(foreign));
        fx.unchanged(EINVAL, () -> core.get(foreign));
        fx.unchanged(EINVAL, () -> core.put(foreign));
        fx.unchanged(EINVAL, () -> core.attachData(foreign, "x"));
        fx.unchanged(EINVAL, () -> core.setData(foreign, "x"));
        fx.unchanged(EINVAL, () -> core.detachData(foreign));
        fx.unchanged(EINVAL, () -> core.attachSpid(foreign, 1));
        fx.unchanged(EINVAL, () -> core.detachSpid(foreign));
        fx.unchanged(EINVAL, () -> core.freeSet(foreignSet));
        fx.unchanged(EINVAL, () -> core.freeAllInSet(foreignSet));
        fx.unchanged(EINVAL, () -> core.findBySpid(foreignSet, 1, false));
        fx.unchanged(EINVAL, () -> core.ids(foreignSet, 10));
        fx.unchanged(EINVAL, () -> core.alloc(null, 1, 10, null));
        fx.unchanged(EINVAL, () -> core.free((IoasidHandle) null));
        assertEquals(IoasidState.IDLE, foreign.state());
    }

    @Test
    @DisplayName("known bug 9: the range's boundary IDs max and 2^bits - 1 are allocated, then ENOSPC")
    void boundaries() {
        IoasidSet all = core.createSet(TokenType.NONE, "all", 0);
        assertEquals(Ioasid.MAX_ID, core.alloc(all, Ioasid.MAX_ID, Ioasid.MAX_ID, null).id());
        assertEquals(Ioasid.MAX_ID - 1, core.alloc(all, Ioasid.MAX_ID - 1, Ioasid.MAX_ID, null).id());
        fx.unchanged(ENOSPC, () -> core.alloc(all, Ioasid.MAX_ID - 1, Ioasid.MAX_ID, null));
    }

    @Test
    @DisplayName("known bug 9: exhausting the whole 20-bit space hands out every ID once, 0 never")
    void exhaustWholeSpace() {
        IoasidCore core = new IoasidCore(20, 10_000);
        IoasidSet all = core.createSet(TokenType.NONE, "all", 0);
        java.util.BitSet seen = new java.util.BitSet();
        for (int i = 0; i < Ioasid.MAX_ID; i++) {
            int id = core.alloc(all, 1, Ioasid.MAX_ID, null).id();
            assertFalse(seen.get(id), "handed out twice: " + id);
            seen.set(id);
        }
        assertEquals(Ioasid.MAX_ID, seen.cardinality());
        assertFalse(seen.get(0));
        assertEquals(ENOSPC, Expect.errno(ENOSPC, () -> core.alloc(all, 1, Ioasid.MAX_ID, null)).errno());
        core.free(all, 777_777);
        assertEquals(777_777, core.alloc(all, 1, Ioasid.MAX_ID, null).id());
    }

    @Test
    @DisplayName("D2: errors name the kernel errno and carry a message")
    void errnoInMessage() {
        var e = Expect.errno(ENOENT, () -> core.find(null, 42));
        assertTrue(e.getMessage().startsWith("ENOENT: "), e.getMessage());
        assertEquals(2, e.errno().number());
    }

    @Test
    @DisplayName("a stopped core refuses changes with ENODEV")
    void closed() {
        IoasidHandle h = core.alloc(set, 1, 10, null);
        core.close();
        fx.unchanged(ioasid.api.Errno.ENODEV, () -> core.alloc(set, 1, 10, null));
        fx.unchanged(ioasid.api.Errno.ENODEV, () -> core.createSet(TokenType.NONE, "late", 1));
        assertSame(h, core.find(null, h.id()));
    }
}
