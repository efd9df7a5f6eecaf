package ioasid.core.impl;

import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.api.Errno.EPERM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.SetOwner;
import ioasid.api.SetState;
import ioasid.api.TokenType;
import ioasid.api.dto.SetDTO;
import ioasid.testkit.Expect;

/** Sets the platform owns and set numbers that are never reused: decision D19. */
class OwnedSetTest {
    private final IoasidFixture fx = new IoasidFixture();
    private final IoasidCore core = fx.core;
    private final SetOwner iommu = new SetOwner("iommu-core");

    @AfterEach
    void close() {
        fx.close();
    }

    private SetDTO dto(IoasidSet s) {
        for (SetDTO d : core.sets()) {
            if (d.id == s.id()) {
                return d;
            }
        }
        throw new AssertionError("no snapshot of " + s);
    }

    @Test
    @DisplayName("D19: an owned set shows its owner's label; a set without one shows none")
    void ownerIsShown() {
        IoasidSet owned = core.createSet(TokenType.NONE, null, 10, iommu);
        IoasidSet plain = core.createSet(TokenType.NONE, "vm1", 10);
        IoasidSet alsoPlain = core.createSet(TokenType.NONE, "vm2", 10, null);
        assertEquals("iommu-core", dto(owned).owner);
        assertNull(dto(plain).owner);
        assertNull(dto(alsoPlain).owner);
        assertTrue(owned.toString().contains("owned by iommu-core"), owned.toString());
    }

    @Test
    @DisplayName("D19: freeing an owned set without its owner is EPERM, changes nothing, and "
            + "the owner goes on allocating from it")
    void othersCannotFree() {
        IoasidSet owned = core.createSet(TokenType.NONE, null, 10, iommu);
        core.alloc(owned, 1, 100, null);
        IoasidException e = fx.unchanged(EPERM, () -> core.freeSet(owned));
        assertEquals("EPERM: set " + owned.id() + " belongs to iommu-core, which alone may free "
                + "it", e.getMessage());
        fx.unchanged(EPERM, () -> core.freeSet(owned, null));
        // the same label is not the same owner
        fx.unchanged(EPERM, () -> core.freeSet(owned, new SetOwner("iommu-core")));
        fx.unchanged(EPERM, () -> core.freeSet(owned, new SetOwner("someone")));
        assertSame(owned, core.findSet(owned.id()));
        assertEquals(SetState.ACTIVE, owned.state());
        assertEquals(2, core.alloc(owned, 1, 100, null).id());
    }

    @Test
    @DisplayName("D19, rule 65, D9: the owner frees its set as any set is freed: at once when "
            + "empty, with its last ID otherwise, and the quota returns")
    void ownerFrees() {
        core.installCapacity(100);
        IoasidSet empty = core.createSet(TokenType.NONE, "a", 30, iommu);
        assertTrue(core.freeSet(empty, iommu));
        assertEquals(SetState.FREED, empty.state());
        IoasidSet busy = core.createSet(TokenType.NONE, "b", 40, iommu);
        IoasidHandle h = core.alloc(busy, 1, 100, null);
        assertFalse(core.freeSet(busy, iommu));
        assertEquals(SetState.FREE_PENDING, busy.state());
        fx.unchanged(EPERM, () -> core.freeSet(busy)); // still the owner's while pending
        assertFalse(core.freeSet(busy, iommu), "again: still pending, no error");
        core.free(h);
        assertEquals(SetState.FREED, busy.state());
        assertEquals(100, core.capacity().available);
        fx.unchanged(EINVAL, () -> core.freeSet(busy, iommu));
    }

    @Test
    @DisplayName("D19: a set without an owner is freed whoever asks, owners included")
    void plainSetsAreFreedByAnyone() {
        IoasidSet a = core.createSet(TokenType.NONE, "a", 10);
        IoasidSet b = core.createSet(TokenType.NONE, "b", 10);
        assertTrue(core.freeSet(a));
        assertTrue(core.freeSet(b, iommu));
    }

    @Test
    @DisplayName("D19: set numbers are never reused; a freed number is ENOENT saying so, and a "
            + "kept IoasidSet of a freed set still refuses with EINVAL")
    void numbersAreNotReused() {
        IoasidSet a = core.createSet(TokenType.NONE, "a", 10);
        IoasidSet b = core.createSet(TokenType.NONE, "b", 10);
        IoasidHandle h = core.alloc(b, 1, 100, null);
        assertTrue(core.freeSet(a));
        assertFalse(core.freeSet(b));
        core.free(h);
        IoasidSet c = core.createSet(TokenType.NONE, "a", 10);
        assertEquals(b.id() + 1, c.id(), "not " + a.id() + " nor " + b.id() + " again");
        IoasidException e = fx.unchanged(ENOENT, () -> core.findSet(a.id()));
        assertEquals("ENOENT: set " + a.id() + " was freed", e.getMessage());
        e = fx.unchanged(ENOENT, () -> core.findSet(b.id()));
        assertEquals("ENOENT: set " + b.id() + " was freed", e.getMessage());
        assertEquals("ENOENT: no set 99", fx.unchanged(ENOENT, () -> core.findSet(99))
                .getMessage());
        assertEquals("ENOENT: no set 0", fx.unchanged(ENOENT, () -> core.findSet(0))
                .getMessage());
        assertEquals("ENOENT: no set -1", fx.unchanged(ENOENT, () -> core.findSet(-1))
                .getMessage());
        fx.unchanged(EINVAL, () -> core.alloc(a, 1, 100, null));
        fx.unchanged(EINVAL, () -> core.freeSet(a));
        assertEquals(0, c.size(), "nothing of the old sets reaches the new one");
    }

    @Test
    @DisplayName("D19: once every set number has been used, a new set is ENOSPC and nothing is "
            + "charged")
    void numbersRunOut() {
        CoreLock lock = new CoreLock();
        SetRegistry sets = new SetRegistry(lock, 20, Integer.MAX_VALUE);
        SetImpl last = sets.create(core, TokenType.NONE, "last", 10, null);
        assertEquals(Integer.MAX_VALUE, last.id);
        sets.free(last, null);
        int available = sets.available();
        IoasidException e = Expect.errno(ENOSPC,
                () -> sets.create(core, TokenType.NONE, "more", 10, null));
        assertEquals("ENOSPC: every set number up to 2147483647 has been used", e.getMessage());
        assertEquals(available, sets.available());
        assertEquals(0, sets.all().size());
    }
}
