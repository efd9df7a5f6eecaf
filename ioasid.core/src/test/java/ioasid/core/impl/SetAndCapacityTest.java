package ioasid.core.impl;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOSPC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Ioasid;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.SetState;
import ioasid.api.TokenType;

/** System capacity and sets: rules 60-66, 77, 88; decisions D8, D9. */
class SetAndCapacityTest {
    private final IoasidFixture fx = new IoasidFixture();
    private final IoasidCore core = fx.core;

    @Test
    @DisplayName("rule 60: capacity defaults to 2^20 and can be installed once")
    void installCapacity() {
        assertEquals(0x100000, core.capacity().capacity);
        core.installCapacity(5000);
        assertEquals(5000, core.capacity().capacity);
        assertEquals(5000, core.capacity().available);
        fx.unchanged(EBUSY, () -> core.installCapacity(6000));
    }

    @Test
    @DisplayName("rule 60: installing over reserved capacity or outside [1, 2^bits] is refused")
    void installCapacityErrors() {
        fx.unchanged(EINVAL, () -> core.installCapacity(0));
        fx.unchanged(EINVAL, () -> core.installCapacity(-1));
        fx.unchanged(EINVAL, () -> core.installCapacity((1 << 20) + 1));
        core.createSet(TokenType.NONE, "a", 10);
        fx.unchanged(EBUSY, () -> core.installCapacity(100));
    }

    @Test
    @DisplayName("rule 61: reserve takes capacity (0 = all that remains); cancel gives it back")
    void reserveAndCancel() {
        core.installCapacity(1000);
        assertEquals(300, core.reserveCapacity(300));
        assertEquals(700, core.capacity().available);
        fx.unchanged(ENOSPC, () -> core.reserveCapacity(701));
        assertEquals(700, core.reserveCapacity(0));
        assertEquals(0, core.capacity().available);
        assertEquals(400, core.cancelCapacity(400));
        fx.unchanged(EINVAL, () -> core.cancelCapacity(601));
        fx.unchanged(EINVAL, () -> core.cancelCapacity(-1));
        fx.unchanged(EINVAL, () -> core.reserveCapacity(-1));
        assertEquals(1000, core.cancelCapacity(600));
    }

    @Test
    @DisplayName("rule 62: quota 0 takes what is available; more than available is ENOSPC")
    void quota() {
        core.installCapacity(1000);
        IoasidSet a = core.createSet(TokenType.NONE, "a", 400);
        assertEquals(600, core.capacity().available);
        fx.unchanged(ENOSPC, () -> core.createSet(TokenType.NONE, "b", 601));
        IoasidSet b = core.createSet(TokenType.NONE, "b", 0);
        assertEquals(600, b.quota());
        assertEquals(0, core.capacity().available);
        fx.unchanged(ENOSPC, () -> core.createSet(TokenType.NONE, "c", 0));
        fx.unchanged(EINVAL, () -> core.createSet(TokenType.NONE, "d", -1));
        fx.unchanged(EINVAL, () -> core.createSet(null, "d", 1));
        assertEquals(400, a.quota());
    }

    @Test
    @DisplayName("rule 63, D8: tokens are unique within their type, every type; MM needs a token")
    void tokens() {
        Object mm = new Object();
        IoasidSet s1 = core.createSet(TokenType.MM, mm, 10);
        fx.unchanged(EEXIST, () -> core.createSet(TokenType.MM, mm, 10));
        core.createSet(TokenType.NONE, "vm", 10);
        fx.unchanged(EEXIST, () -> core.createSet(TokenType.NONE, "vm", 10));
        fx.unchanged(EINVAL, () -> core.createSet(TokenType.MM, null, 10));
        IoasidSet s2 = core.createSet(TokenType.NONE, mm, 10);
        assertNotEquals(s1.id(), s2.id(), "same token, different type");
        assertSame(s1, core.findSet(TokenType.MM, mm));
        assertSame(s2, core.findSet(TokenType.NONE, mm));
        fx.unchanged(ENOENT, () -> core.findSet(TokenType.MM, "nobody"));
        fx.unchanged(ENOENT, () -> core.findSet(TokenType.NONE, null));
        fx.unchanged(EINVAL, () -> core.findSet(null, mm));
        assertSame(s1, core.findSet(s1.id()));
        fx.unchanged(ENOENT, () -> core.findSet(999));
    }

    @Test
    @DisplayName("rule 64: creating a set charges its quota to the available capacity")
    void charge() {
        int before = core.capacity().available;
        core.createSet(TokenType.NONE, "a", 123);
        assertEquals(before - 123, core.capacity().available);
    }

    @Test
    @DisplayName("rule 65, D9: an empty set is freed at once and its quota returns")
    void freeEmptySet() {
        core.installCapacity(100);
        IoasidSet a = core.createSet(TokenType.NONE, "a", 60);
        assertTrue(core.freeSet(a));
        assertEquals(SetState.FREED, a.state());
        assertEquals(100, core.capacity().available, "D9: quota returned");
        fx.unchanged(EINVAL, () -> core.freeSet(a));
        fx.unchanged(EINVAL, () -> core.alloc(a, 1, 10, null));
        fx.unchanged(ENOENT, () -> core.findSet(TokenType.NONE, "a"));
        core.createSet(TokenType.NONE, "a", 100);
    }

    @Test
    @DisplayName("rule 65: a set holding IDs goes FREE_PENDING and is freed with its last ID")
    void freeBusySet() {
        core.installCapacity(100);
        IoasidSet a = core.createSet(TokenType.NONE, "a", 60);
        IoasidHandle h1 = core.alloc(a, 1, 10, null);
        IoasidHandle h2 = core.alloc(a, 1, 10, null);
        assertFalse(core.freeSet(a));
        assertEquals(SetState.FREE_PENDING, a.state());
        assertFalse(core.freeSet(a), "again: still pending, no error");
        fx.unchanged(EBUSY, () -> core.alloc(a, 1, 10, null));
        core.free(h1);
        assertEquals(SetState.FREE_PENDING, a.state());
        assertEquals(40, core.capacity().available);
        core.free(h2);
        assertEquals(SetState.FREED, a.state());
        assertEquals(100, core.capacity().available);
    }

    @Test
    @DisplayName("rule 66: allocation beyond the set's quota is ENOSPC")
    void setQuota() {
        IoasidSet a = core.createSet(TokenType.NONE, "a", 3);
        IoasidSet b = core.createSet(TokenType.NONE, "b", 3);
        for (int i = 0; i < 3; i++) {
            core.alloc(a, 1, 100, null);
        }
        fx.unchanged(ENOSPC, () -> core.alloc(a, 1, 100, null));
        assertEquals(4, core.alloc(b, 1, 100, null).id(), "other sets are not affected");
        core.free(a, 2);
        assertEquals(2, core.alloc(a, 1, 100, null).id());
    }

    @Test
    @DisplayName("rule 66: FREE_PENDING IDs still count against the quota until reclaimed")
    void pendingCountsAgainstQuota() {
        IoasidSet a = core.createSet(TokenType.NONE, "a", 1);
        IoasidHandle h = core.alloc(a, 1, 100, null);
        core.get(h);
        core.free(h);
        assertEquals(IoasidState.FREE_PENDING, h.state());
        fx.unchanged(ENOSPC, () -> core.alloc(a, 1, 100, null));
        core.put(h);
        core.alloc(a, 1, 100, null);
    }

    @Test
    @DisplayName("rule 77: free-all frees every ID of the set; held ones stay FREE_PENDING")
    void freeAllInSet() {
        IoasidSet a = core.createSet(TokenType.NONE, "a", 10);
        IoasidSet b = core.createSet(TokenType.NONE, "b", 10);
        IoasidHandle a1 = core.alloc(a, 1, 100, null);
        IoasidHandle b1 = core.alloc(b, 1, 100, null);
        IoasidHandle a2 = core.alloc(a, 1, 100, null);
        IoasidHandle a3 = core.alloc(a, 1, 100, null);
        core.get(a2);
        core.free(a3);
        assertEquals(2, core.freeAllInSet(a));
        assertEquals(IoasidState.FREE, a1.state());
        assertEquals(IoasidState.FREE_PENDING, a2.state());
        assertEquals(IoasidState.IDLE, b1.state());
        assertEquals(1, a.size());
        assertEquals(0, core.freeAllInSet(a), "nothing left to free");
        core.put(a2);
        assertEquals(0, a.size());
        assertTrue(core.freeSet(a));
        fx.unchanged(EINVAL, () -> core.freeAllInSet(a));
    }

    @Test
    @DisplayName("rule 88: the IDs a set holds are its refcount: size follows every ID")
    void sizeIsRefcount() {
        IoasidSet a = core.createSet(TokenType.NONE, "a", 10);
        IoasidHandle h = core.alloc(a, 1, 100, null);
        assertEquals(1, a.size());
        core.get(h);
        core.free(h);
        assertEquals(1, a.size(), "FREE_PENDING still held");
        core.put(h);
        assertEquals(0, a.size());
        assertEquals(1, core.sets().length);
    }

    @Test
    @DisplayName("set snapshots report token, quota, size, SPIDs and state")
    void setDto() {
        IoasidSet a = core.createSet(TokenType.MM, "mm1", 10);
        IoasidHandle h = core.alloc(a, 1, 100, null);
        core.attachSpid(h, 101);
        var d = core.sets()[0];
        assertEquals(a.id(), d.id);
        assertEquals("MM", d.tokenType);
        assertEquals("mm1", d.token);
        assertEquals(10, d.quota);
        assertEquals(1, d.size);
        assertEquals(1, d.spids);
        assertEquals("ACTIVE", d.state);
        assertEquals(Ioasid.MAX_ID, core.capacity().maxId);
        assertEquals(20, core.capacity().idBits);
    }
}
