package ioasid.core.iommu;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.api.Errno.EPERM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidHandle;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuGroup;
import ioasid.api.iommu.dto.GroupDTO;

/** DMA ownership: rules 49-55; known bug 2. */
class OwnershipTest {
    private final IommuFixture fx = new IommuFixture();
    private final TestBackend be = fx.bind(new TestBackend("t0", 256)
            .device("a", "ga", 8).device("b", "gb", 8).device("c", "gb", 8));
    private final IommuGroup ga = fx.iommu.group("a");

    @Test
    @DisplayName("rule 49: a claim makes the blocking domain on first use and moves the group to it")
    void claim() {
        fx.iommu.claimGroup(ga, "vfio-1");
        GroupDTO d = fx.dto(ga);
        assertEquals(d.blockingDomainId, d.domainId);
        assertEquals("vfio-1", d.owner);
        assertEquals(1, d.ownerCount);
        assertEquals(DomainType.BLOCKED, be.domainOf("a").type);
        assertEquals("BLOCKED", fx.probe("a", 0, 0x1000).fault());
        assertTrue(fx.iommu.dmaOwnerClaimed(ga)); // rule 54
    }

    @Test
    @DisplayName("rule 49: a null owner is EINVAL, a second claim EPERM, a caller domain EBUSY")
    void claimErrors() {
        fx.unchanged(EINVAL, () -> fx.iommu.claimGroup(ga, null));
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.attachGroup(d, ga);
        fx.unchanged(EBUSY, () -> fx.iommu.claimGroup(ga, "vfio"));
        fx.iommu.detachGroup(d, ga);
        fx.iommu.claimGroup(ga, "vfio");
        fx.unchanged(EPERM, () -> fx.iommu.claimGroup(ga, "vfio"));
        fx.unchanged(EPERM, () -> fx.iommu.claimGroup(ga, "other"));
    }

    @Test
    @DisplayName("rule 49: a group with PASIDs attached cannot be claimed (EBUSY)")
    void claimWithPasids() {
        IoasidHandle p = fx.iommu.allocGlobalPasid("a");
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.attachDevicePasid(d, "a", p);
        fx.unchanged(EBUSY, () -> fx.iommu.claimGroup(ga, "vfio"));
    }

    @Test
    @DisplayName("rule 49: without BLOCKED support the blocking domain is an empty unmanaged one")
    void blockingFallback() {
        IommuFixture f = new IommuFixture();
        TestBackend old = new TestBackend("old", 0).device("x", "x", 0);
        old.refuse.add(DomainType.BLOCKED);
        f.bind(old);
        f.iommu.claimGroup(f.iommu.group("x"), "vfio");
        assertEquals(DomainType.UNMANAGED, old.domainOf("x").type);
        assertEquals("NOT_MAPPED", f.probe("x", 0, 0x1000).fault(), "empty: DMA faults");
    }

    @Test
    @DisplayName("known bug 2: a backend that can make neither BLOCKED nor UNMANAGED: the claim "
            + "fails cleanly, owner unset")
    void fakeGroup() {
        IommuFixture f = new IommuFixture();
        TestBackend mdev = new TestBackend("mdev", 0).device("m", "m", 0);
        mdev.refuse.add(DomainType.BLOCKED);
        mdev.refuse.add(DomainType.UNMANAGED);
        f.bind(mdev);
        IommuGroup g = f.iommu.group("m");
        f.unchanged(EOPNOTSUPP, () -> f.iommu.claimGroup(g, "vfio"));
        assertFalse(f.iommu.dmaOwnerClaimed(g));
        assertNull(f.iommu.groups()[0].owner);
        f.iommu.useDefaultDomain("m"); // still usable by a kernel driver
    }

    @Test
    @DisplayName("rule 50: release returns to the default domain; EINVAL unclaimed, EBUSY with PASIDs")
    void release() {
        int def = fx.dto(ga).defaultDomainId;
        fx.unchanged(EINVAL, () -> fx.iommu.releaseGroup(ga));
        fx.iommu.claimGroup(ga, "vfio");
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        IoasidHandle p = fx.iommu.allocGlobalPasid("a");
        fx.iommu.attachDevicePasid(d, "a", p);
        fx.unchanged(EBUSY, () -> fx.iommu.releaseGroup(ga));
        fx.iommu.detachDevicePasid(d, "a", p);
        fx.iommu.releaseGroup(ga);
        assertEquals(def, fx.dto(ga).domainId);
        assertEquals(0, fx.dto(ga).ownerCount);
        assertNull(fx.dto(ga).owner);
        assertFalse(fx.iommu.dmaOwnerClaimed(ga));
    }

    @Test
    @DisplayName("rules 48, 51: attach and detach while owned: detach goes back to blocking, not default")
    void detachWhileOwned() {
        fx.iommu.claimGroup(ga, "vfio");
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.attachGroup(d, ga);
        assertEquals(d.id(), fx.dto(ga).domainId);
        fx.iommu.detachGroup(d, ga);
        assertEquals(fx.dto(ga).blockingDomainId, fx.dto(ga).domainId);
    }

    @Test
    @DisplayName("rule 52: device claims count per owner; another owner is EPERM; the last release ends it")
    void deviceClaims() {
        IommuGroup gb = fx.iommu.group("b");
        fx.unchanged(EINVAL, () -> fx.iommu.claimDevice("b", null));
        fx.unchanged(ENODEV, () -> fx.iommu.claimDevice("nope", "o"));
        fx.iommu.claimDevice("b", "vfio");
        fx.iommu.claimDevice("c", "vfio"); // same group, same owner
        assertEquals(2, fx.dto(gb).ownerCount);
        fx.unchanged(EPERM, () -> fx.iommu.claimDevice("c", "someone-else"));
        fx.iommu.releaseDevice("c");
        assertEquals(1, fx.dto(gb).ownerCount);
        assertTrue(fx.iommu.dmaOwnerClaimed(gb));
        fx.iommu.releaseDevice("b");
        assertFalse(fx.iommu.dmaOwnerClaimed(gb));
        assertEquals(fx.dto(gb).defaultDomainId, fx.dto(gb).domainId);
        fx.unchanged(EINVAL, () -> fx.iommu.releaseDevice("b"));
    }

    @Test
    @DisplayName("rule 53: kernel drivers count in the owner count; an owned group refuses them")
    void driverUse() {
        fx.iommu.useDefaultDomain("b");
        fx.iommu.useDefaultDomain("c");
        IommuGroup gb = fx.iommu.group("b");
        assertEquals(2, fx.dto(gb).ownerCount);
        fx.unchanged(EPERM, () -> fx.iommu.claimGroup(gb, "vfio")); // a driver is bound
        fx.iommu.unuseDefaultDomain("b");
        fx.iommu.unuseDefaultDomain("c");
        fx.unchanged(EINVAL, () -> fx.iommu.unuseDefaultDomain("c"));
        fx.iommu.claimGroup(gb, "vfio");
        fx.unchanged(EBUSY, () -> fx.iommu.useDefaultDomain("b"));
    }

    @Test
    @DisplayName("rule 53: with a driver bound, a group off its default domain refuses another driver")
    void driverUseOffDefault() {
        fx.iommu.useDefaultDomain("a");
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.attachGroup(d, ga); // allowed: the kernel does not forbid it
        fx.unchanged(EBUSY, () -> fx.iommu.useDefaultDomain("a"));
    }

    @Test
    @DisplayName("rule 55: a device joining a claimed group goes to the blocking domain, not the default")
    void joinerOfClaimedGroup() {
        IommuGroup gb = fx.iommu.group("b");
        fx.iommu.claimGroup(gb, "vfio");
        be.device("d", "gb", 8);
        fx.update(be);
        assertEquals(java.util.List.of("b", "c", "d"), gb.devices());
        assertEquals(DomainType.BLOCKED, be.domainOf("d").type);
        assertEquals(fx.dto(gb).blockingDomainId, fx.probe("d", 0, 0).domainId());
    }
}
