package ioasid.core.iommu;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOMEM;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.api.Errno.EPERM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.SetState;
import ioasid.api.TokenType;
import ioasid.api.dto.SetDTO;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.dto.PasidDTO;
import ioasid.testkit.Expect;

/** Per-PASID attach: rules 33-39; S6 BIND/UNBIND; known bug 9; the core's own set (D19). */
class PasidTest {
    private final IommuFixture fx = new IommuFixture();
    private final TestBackend be = fx.bind(new TestBackend("t0", 64)
            .device("a", "ga", 8).device("b", "gb", 8).device("c", "gb", 4).device("n", "gn", 0));

    @Test
    @DisplayName("rule 34: a device's PASID limit is min(its capability, the IOMMU's); 0 without PASID")
    void limits() {
        assertEquals(64, fx.iommu.maxPasids("a"), "IOMMU 64 < device 256");
        assertEquals(16, fx.iommu.maxPasids("c"));
        assertEquals(0, fx.iommu.maxPasids("n"));
        fx.unchanged(ENODEV, () -> fx.iommu.maxPasids("zz"));
    }

    @Test
    @DisplayName("rule 34, known bug 9: global PASIDs are 1 to max_pasids - 1 inclusive, then ENOSPC")
    void globalRange() {
        List<Integer> got = new ArrayList<>();
        for (int i = 0; i < 15; i++) {
            got.add(fx.iommu.allocGlobalPasid("c").id());
        }
        assertEquals(1, got.get(0));
        assertEquals(15, got.get(14), "max_pasids - 1 is handed out");
        fx.unchanged(ENOSPC, () -> fx.iommu.allocGlobalPasid("c"));
        fx.unchanged(EINVAL, () -> fx.iommu.allocGlobalPasid("n"));
        fx.unchanged(ENODEV, () -> fx.iommu.allocGlobalPasid("zz"));
    }

    @Test
    @DisplayName("a probe with a PASID that is negative or past 20 bits is EINVAL, whatever the "
            + "backend; 0 and the largest 20-bit PASID are probes")
    void translateChecksThePasid() {
        fx.unchanged(EINVAL, () -> fx.iommu.translate("a", -1, 0x1000, Access.READ));
        fx.unchanged(EINVAL, () -> fx.iommu.translate("a", 1 << 20, 0x1000, Access.READ));
        fx.unchanged(EINVAL, () -> fx.iommu.translate("a", 0, 0x1000, null));
        fx.iommu.translate("a", 0, 0x1000, Access.READ);
        fx.iommu.translate("a", (1 << 20) - 1, 0x1000, Access.READ);
    }

    @Test
    @DisplayName("rule 35: freeing a PASID that was not allocated here is refused (EINVAL)")
    void freeGlobalErrors() {
        fx.unchanged(EINVAL, () -> fx.iommu.freeGlobalPasid(null));
        IoasidSet s = fx.ioasid.createSet(TokenType.NONE, "x", 5);
        IoasidHandle other = fx.ioasid.alloc(s, 1, 10, null);
        fx.unchanged(EINVAL, () -> fx.iommu.freeGlobalPasid(other));
        IoasidHandle p = fx.iommu.allocGlobalPasid("a");
        fx.iommu.freeGlobalPasid(p);
        assertEquals(IoasidState.FREE, p.state());
        fx.unchanged(EINVAL, () -> fx.iommu.freeGlobalPasid(p));
    }

    @Test
    @DisplayName("rule 38: attach sets the PASID on every group device, holds a reference, sends BIND")
    void attach() {
        IommuDomain d = fx.iommu.domainAlloc("c", false);
        fx.iommu.map(d, 0x4000, 0x77000, 0x1000, Prot.READ);
        IoasidHandle p = fx.iommu.allocGlobalPasid("c");
        fx.iommu.attachDevicePasid(d, "b", p);
        assertEquals(2, p.refCount(), "allocation reference plus the IOMMU's");
        assertTrue(be.pasids.containsKey("b:" + p.id()));
        assertTrue(be.pasids.containsKey("c:" + p.id()));
        Translation t = fx.probe("c", p.id(), 0x4000);
        assertEquals(0x77000, t.physAddr());
        assertEquals(d.id(), t.domainId());
        assertTrue(fx.events.contains("BIND " + p.id()), fx.events.toString());
        PasidDTO[] dtos = fx.iommu.pasids();
        assertEquals(2, dtos.length);
        assertEquals("caller", dtos[0].kind);
    }

    @Test
    @DisplayName("rule 38: EOPNOTSUPP blocked domain, ENODEV device, EINVAL foreign domain, PASID 0 or "
            + "past a device's limit, EBUSY when taken")
    void attachErrors() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        IoasidHandle p = fx.iommu.allocGlobalPasid("a");
        fx.iommu.claimGroup(fx.iommu.group("a"), "o");
        IommuDomain blocked = fx.iommu.domain(fx.iommu.groups()[0].blockingDomainId);
        fx.unchanged(EOPNOTSUPP, () -> fx.iommu.attachDevicePasid(blocked, "a", p));
        fx.unchanged(ENODEV, () -> fx.iommu.attachDevicePasid(d, "zz", p));
        fx.bind(new TestBackend("t1", 64).device("z", "z", 8));
        IommuDomain foreign = fx.iommu.domainAlloc("z", false);
        fx.unchanged(EINVAL, () -> fx.iommu.attachDevicePasid(foreign, "a", p));
        IoasidHandle big = null;
        for (int i = 0; i < 20; i++) {
            big = fx.iommu.allocGlobalPasid("a");
        }
        IoasidHandle high = big; // PASID 21: fine for b (64) but past c's 16
        fx.unchanged(EINVAL, () -> fx.iommu.attachDevicePasid(d, "b", high));
        fx.unchanged(EINVAL, () -> fx.iommu.attachDevicePasid(d, "a", null));
        fx.iommu.attachDevicePasid(d, "a", p);
        fx.unchanged(EBUSY, () -> fx.iommu.attachDevicePasid(d, "a", p));
    }

    @Test
    @DisplayName("rule 38: a failure on one device removes the PASID from those done, in order")
    void attachRollsBack() {
        IommuDomain d = fx.iommu.domainAlloc("b", false);
        IoasidHandle p = fx.iommu.allocGlobalPasid("c");
        be.failPasid.add("c");
        be.calls.clear();
        fx.unchanged(ENOMEM, () -> fx.iommu.attachDevicePasid(d, "b", p));
        assertEquals(List.of("pasid b:" + p.id() + " " + ((TestBackend.Dom) ((DomainImpl) d).hw).id,
                "unpasid b:" + p.id()), be.calls);
        assertEquals(1, p.refCount(), "the reference taken was given back");
        assertTrue(fx.events.stream().noneMatch(e -> e.startsWith("BIND")));
    }

    @Test
    @DisplayName("rule 39: detach clears every device; EINVAL for another domain; UNBIND and the "
            + "reference go; detaching it again is tolerated and changes nothing (D21)")
    void detach() {
        IommuDomain d = fx.iommu.domainAlloc("b", false);
        IommuDomain other = fx.iommu.domainAlloc("b", false);
        IoasidHandle p = fx.iommu.allocGlobalPasid("c");
        fx.iommu.attachDevicePasid(d, "b", p);
        fx.unchanged(EINVAL, () -> fx.iommu.detachDevicePasid(other, "b", p));
        fx.iommu.detachDevicePasid(d, "c", p);
        assertTrue(be.pasids.isEmpty());
        assertEquals(1, p.refCount());
        assertEquals(List.of("ALLOC " + p.id(), "BIND " + p.id(), "UNBIND " + p.id()), fx.events);
        String before = fx.state();
        be.calls.clear();
        fx.iommu.detachDevicePasid(d, "b", p); // D21: was EINVAL; iommufd tolerates it
        assertEquals(before, fx.state());
        assertEquals(List.of(), be.calls, "no backend call");
        assertEquals(List.of("ALLOC " + p.id(), "BIND " + p.id(), "UNBIND " + p.id()), fx.events);
        assertEquals(1, p.refCount(), "no reference dropped twice");
        assertEquals("NO_PASID_ENTRY", fx.probe("b", p.id(), 0).fault());
    }

    @Test
    @DisplayName("S6: one BIND at the PASID's first attachment and one UNBIND after its last, across groups")
    void bindOncePerCycle() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        IoasidHandle p = fx.iommu.allocGlobalPasid("a");
        fx.iommu.attachDevicePasid(d, "a", p);
        fx.iommu.attachDevicePasid(d, "b", p);
        assertEquals(3, p.refCount());
        fx.iommu.detachDevicePasid(d, "a", p);
        fx.iommu.detachDevicePasid(d, "b", p);
        assertEquals(List.of("ALLOC " + p.id(), "BIND " + p.id(), "UNBIND " + p.id()), fx.events);
    }

    @Test
    @DisplayName("S6: a freed PASID is detached in exactly the groups it is still attached in, in "
            + "group order, whatever the order of attaches, detaches and departed backends")
    void freeFollowsTheGroupsAttachedIn() {
        TestBackend other = fx.bind(new TestBackend("t1", 64).device("z", "gz", 8));
        IommuDomain da = fx.iommu.domainAlloc("a", false);
        IommuDomain db = fx.iommu.domainAlloc("b", false);
        IommuDomain dz = fx.iommu.domainAlloc("z", false);
        IoasidHandle p = fx.iommu.allocGlobalPasid("a");
        IoasidHandle q = fx.iommu.allocGlobalPasid("a");
        // attached last in the first group, first in the last one
        fx.iommu.attachDevicePasid(dz, "z", p);
        fx.iommu.attachDevicePasid(db, "b", p);
        fx.iommu.attachDevicePasid(da, "a", p);
        fx.iommu.attachDevicePasid(db, "b", q);
        fx.iommu.detachDevicePasid(db, "b", p);
        fx.unbind(other); // its group is evicted with p's attachment there
        assertEquals(List.of("ALLOC " + p.id(), "ALLOC " + q.id(), "BIND " + p.id(),
                "BIND " + q.id()), fx.events);
        be.calls.clear();
        fx.iommu.freeGlobalPasid(p);
        assertEquals(List.of("unpasid a:" + p.id()), be.calls, "only where it is attached");
        assertEquals(IoasidState.FREE, p.state());
        assertEquals(List.of("UNBIND " + p.id(), "FREE " + p.id()),
                fx.events.subList(4, fx.events.size()));

        IoasidHandle r = fx.iommu.allocGlobalPasid("a");
        fx.iommu.attachDevicePasid(db, "b", r);
        fx.iommu.attachDevicePasid(da, "a", r);
        be.calls.clear();
        fx.iommu.freeGlobalPasid(r);
        assertEquals(List.of("unpasid a:" + r.id(), "unpasid b:" + r.id(), "unpasid c:" + r.id()),
                be.calls, "group order");
        be.calls.clear();
        fx.iommu.freeGlobalPasid(q);
        assertEquals(List.of("unpasid b:" + q.id(), "unpasid c:" + q.id()), be.calls);
        assertEquals(0, fx.iommu.pasids().length);
        assertTrue(be.pasids.isEmpty(), be.pasids.toString());
    }

    @Test
    @DisplayName("rule 87, S6: a PASID freed while attached is detached everywhere by the IOMMU's "
            + "FREE handler")
    void freedWhileAttached() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        IoasidSet s = fx.ioasid.createSet(TokenType.NONE, "guest", 10);
        IoasidHandle p = fx.ioasid.alloc(s, 1, 50, null);
        fx.iommu.attachDevicePasid(d, "a", p);
        fx.iommu.attachDevicePasid(d, "b", p);
        fx.ioasid.free(p); // the owner frees it; the IOMMU still had it attached
        assertTrue(be.pasids.isEmpty(), be.pasids.toString());
        assertEquals(IoasidState.FREE, p.state(), "the IOMMU dropped its references");
        assertEquals(List.of("ALLOC " + p.id(), "BIND " + p.id(), "FREE " + p.id(),
                "UNBIND " + p.id()), fx.events);
        assertEquals(0, fx.iommu.pasids().length);
    }

    @Test
    @DisplayName("rule 35: freeing an attached global PASID detaches it first")
    void freeGlobalAttached() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        IoasidHandle p = fx.iommu.allocGlobalPasid("a");
        fx.iommu.attachDevicePasid(d, "a", p);
        fx.iommu.freeGlobalPasid(p);
        assertEquals(IoasidState.FREE, p.state());
        assertTrue(be.pasids.isEmpty());
        fx.iommu.domainFree(d);
    }

    @Test
    @DisplayName("rule 38: a handle of another IOASID space is EINVAL even when its number is attached "
            + "here, not EBUSY (found by IommuFuzzIT)")
    void foreignPasidHandle() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        IoasidHandle p = fx.iommu.allocGlobalPasid("a");
        fx.iommu.attachDevicePasid(d, "a", p);
        ioasid.core.impl.IoasidCore other = new ioasid.core.impl.IoasidCore(20, 100);
        IoasidHandle twin = other.alloc(other.createSet(TokenType.NONE, "other", 5), p.id(),
                p.id(), null);
        assertEquals(p.id(), twin.id());
        fx.unchanged(EINVAL, () -> fx.iommu.attachDevicePasid(d, "a", twin));
        fx.unchanged(EINVAL, () -> fx.iommu.attachDevicePasid(d, "b", twin));
        fx.unchanged(EINVAL, () -> fx.iommu.detachDevicePasid(d, "a", twin));
        assertEquals(1, twin.refCount(), "the other space's reference is untouched");
    }

    @Test
    @DisplayName("D21: only a valid PASID with no attachment is tolerated by detach; a handle of "
            + "another IOASID space, a freed PASID or a domain of another IOMMU stay EINVAL "
            + "(found by IommuFuzzIT)")
    void detachNotAttachedChecksArguments() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        IoasidHandle p = fx.iommu.allocGlobalPasid("a");
        ioasid.core.impl.IoasidCore other = new ioasid.core.impl.IoasidCore(20, 100);
        IoasidHandle twin = other.alloc(other.createSet(TokenType.NONE, "other", 5), p.id(),
                p.id(), null);
        fx.unchanged(EINVAL, () -> fx.iommu.detachDevicePasid(d, "a", twin));
        IoasidHandle freed = fx.iommu.allocGlobalPasid("a");
        fx.iommu.freeGlobalPasid(freed);
        fx.unchanged(EINVAL, () -> fx.iommu.detachDevicePasid(d, "a", freed));
        fx.bind(new TestBackend("t1", 64).device("z", "z", 8));
        IommuDomain foreign = fx.iommu.domainAlloc("z", false);
        fx.unchanged(EINVAL, () -> fx.iommu.detachDevicePasid(foreign, "a", p));
        fx.iommu.detachDevicePasid(d, "a", p); // the tolerated case
        assertEquals(1, twin.refCount(), "the other space's reference is untouched");
    }

    @Test
    @DisplayName("a stale PASID cannot be attached (EINVAL); a domain in use by a PASID cannot be freed")
    void stalePasid() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        IoasidHandle p = fx.iommu.allocGlobalPasid("a");
        IoasidHandle q = fx.iommu.allocGlobalPasid("a");
        fx.iommu.freeGlobalPasid(p);
        fx.unchanged(EINVAL, () -> fx.iommu.attachDevicePasid(d, "a", p));
        fx.iommu.attachDevicePasid(d, "a", q);
        fx.unchanged(EBUSY, () -> fx.iommu.domainFree(d));
        IoasidException e = assertThrows(IoasidException.class,
                () -> fx.iommu.translate("a", -1, 0, ioasid.api.iommu.Access.READ));
        assertEquals(EINVAL, e.errno());
        assertEquals("NO_PASID_ENTRY", fx.probe("a", 5, 0).fault(), "PASID 5 is not attached");
    }

    /** The IOASID set the IOMMU core's PASIDs come from, as the service lists it. */
    private IoasidSet pasidSet() {
        SetDTO[] sets = fx.ioasid.sets();
        assertEquals(1, sets.length);
        assertEquals("iommu-core", sets[0].owner, "D19: labelled as the IOMMU core's");
        return fx.ioasid.findSet(sets[0].id);
    }

    @Test
    @DisplayName("D19: no one but the IOMMU core frees its PASID set (EPERM), and global PASIDs "
            + "are still allocated from it afterwards")
    void pasidSetIsTheCoresOwn() {
        IoasidSet set = pasidSet();
        IoasidHandle before = fx.iommu.allocGlobalPasid("a");
        Expect.errno(EPERM, () -> fx.ioasid.freeSet(set));
        assertEquals(SetState.ACTIVE, set.state());
        IoasidHandle after = fx.iommu.allocGlobalPasid("a");
        assertSame(set, after.set());
        assertEquals(before.id() + 1, after.id());
        assertEquals(IoasidState.IDLE, before.state());
        assertSame(set, fx.iommu.privatePasidAlloc("a").pasid().set(), "private PASIDs too");
    }

    @Test
    @DisplayName("D19, rule 65, D9: closing the IOMMU core frees its PASID set as the owner; a "
            + "PASID still held keeps it FREE_PENDING until the PASID goes")
    void closeFreesThePasidSet() {
        int available = fx.ioasid.capacity().available;
        IoasidSet set = pasidSet();
        IoasidHandle p = fx.iommu.allocGlobalPasid("a");
        fx.iommu.close();
        assertEquals(SetState.FREE_PENDING, set.state());
        fx.ioasid.free(p);
        assertEquals(SetState.FREED, set.state());
        assertEquals(available + set.quota(), fx.ioasid.capacity().available);
        assertEquals(0, fx.ioasid.sets().length);
    }
}
