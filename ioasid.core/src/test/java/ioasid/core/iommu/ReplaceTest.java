package ioasid.core.iommu;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOMEM;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.api.Errno.EPERM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidHandle;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuGroup;
import ioasid.api.iommu.Prot;

/** Replace of a group's, a device's and a PASID's domain: rules 44, 46, 105, 106; D18, D23, D25. */
class ReplaceTest {
    private final IommuFixture fx = new IommuFixture();
    private final TestBackend be = fx.bind(new TestBackend("t0", 256)
            .device("a", "ga", 8).device("b", "gb", 8).device("c", "gb", 8));

    @AfterEach
    void noViolations() {
        assertEquals(List.of(), be.violations, "the core named the wrong old domain");
    }

    @Test
    @DisplayName("rule 105: replace moves a claimed group from one caller domain to another, where "
            + "attach is EBUSY (rule 46); every device of the group follows")
    void replaceOverCallerDomain() {
        IommuGroup g = fx.iommu.group("b");
        fx.iommu.claimGroup(g, "vfio");
        IommuDomain d1 = fx.iommu.domainAlloc("b", false);
        IommuDomain d2 = fx.iommu.domainAlloc("b", false);
        fx.iommu.map(d2, 0x1000, 0x7000, 0x1000, Prot.READ);
        fx.iommu.attachGroup(d1, g);
        fx.unchanged(EBUSY, () -> fx.iommu.attachGroup(d2, g));
        be.replaces.clear();
        fx.iommu.replaceGroupDomain(g, d2);
        assertEquals(d2.id(), fx.dto(g).domainId);
        assertEquals(0x7000, fx.probe("c", 0, 0x1000).physAddr());
        int d1hw = ((TestBackend.Dom) ((DomainImpl) d1).hw).id;
        int d2hw = ((TestBackend.Dom) ((DomainImpl) d2).hw).id;
        assertEquals(List.of("b " + d1hw + ">" + d2hw, "c " + d1hw + ">" + d2hw), be.replaces,
                "the backend learns the domain each device leaves (D25)");
        fx.iommu.domainFree(d1); // nothing holds it any more
    }

    @Test
    @DisplayName("D23: replace needs a claimed group: unclaimed or used by a kernel driver is EPERM "
            + "and nothing changes")
    void replaceNeedsOwner() {
        IommuGroup g = fx.iommu.group("a");
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.unchanged(EPERM, () -> fx.iommu.replaceGroupDomain(g, d));
        fx.iommu.useDefaultDomain("a");
        fx.unchanged(EPERM, () -> fx.iommu.replaceDeviceDomain("a", d));
        fx.iommu.unuseDefaultDomain("a");
        fx.iommu.claimDevice("a", "iommufd");
        fx.iommu.replaceDeviceDomain("a", d);
        assertEquals(d.id(), fx.dto(g).domainId);
    }

    @Test
    @DisplayName("rule 105, D20: EINVAL for null, a core domain, another IOMMU's domain or a device "
            + "sharing its group; ENOENT for a freed domain; ENODEV for an unknown device")
    void replaceErrors() {
        IommuGroup ga = fx.iommu.group("a");
        fx.iommu.claimGroup(ga, "vfio");
        fx.iommu.claimGroup(fx.iommu.group("b"), "vfio");
        IommuDomain def = fx.iommu.domain(fx.dto(ga).defaultDomainId);
        fx.unchanged(EINVAL, () -> fx.iommu.replaceGroupDomain(ga, null));
        fx.unchanged(EINVAL, () -> fx.iommu.replaceGroupDomain(null, def));
        fx.unchanged(EINVAL, () -> fx.iommu.replaceGroupDomain(ga, def));
        fx.bind(new TestBackend("t1", 16).device("z", "z", 4));
        IommuDomain foreign = fx.iommu.domainAlloc("z", false);
        fx.unchanged(EINVAL, () -> fx.iommu.replaceGroupDomain(ga, foreign));
        IommuDomain d = fx.iommu.domainAlloc("b", false);
        fx.unchanged(EINVAL, () -> fx.iommu.replaceDeviceDomain("b", d)); // rule 47
        fx.unchanged(ENODEV, () -> fx.iommu.replaceDeviceDomain("nope", d));
        fx.iommu.domainFree(d);
        fx.unchanged(ENOENT, () -> fx.iommu.replaceGroupDomain(ga, d));
    }

    @Test
    @DisplayName("rules 44, 105: replacing with the domain the group is on is a no-op that reaches "
            + "no backend and cannot fail")
    void replaceSameDomain() {
        IommuGroup g = fx.iommu.group("a");
        fx.iommu.claimGroup(g, "vfio");
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.replaceGroupDomain(g, d);
        be.calls.clear();
        be.failAttach.add("a");
        be.failReplace.add("a");
        fx.iommu.replaceGroupDomain(g, d);
        fx.iommu.replaceDeviceDomain("a", d);
        assertEquals(List.of(), be.calls);
    }

    @Test
    @DisplayName("D18: a replace that fails on the second device puts the first back on the old "
            + "domain; mid-switch every DMA reaches the old or the new domain")
    void replaceRollsBack() {
        IommuGroup g = fx.iommu.group("b");
        fx.iommu.claimGroup(g, "vfio");
        IommuDomain old = fx.iommu.domainAlloc("b", false);
        IommuDomain next = fx.iommu.domainAlloc("b", false);
        fx.iommu.attachGroup(old, g);
        List<Integer> seen = new ArrayList<>();
        be.duringAttach = (dev, dom) -> {
            for (String x : List.of("b", "c")) {
                int via = fx.iommu.translate(x, 0, 0x1000, Access.READ).domainId();
                seen.add(via);
                assertTrue(via == old.id() || via == next.id(), x + " reached " + via);
            }
        };
        be.failReplace.add("c");
        be.replaces.clear();
        fx.unchanged(ENOMEM, () -> fx.iommu.replaceGroupDomain(g, next));
        be.duringAttach = null;
        int o = ((TestBackend.Dom) ((DomainImpl) old).hw).id;
        int n = ((TestBackend.Dom) ((DomainImpl) next).hw).id;
        assertEquals(List.of("b " + o + ">" + n, "b " + n + ">" + o), be.replaces);
        assertTrue(seen.contains(next.id()), "b did switch before c failed: " + seen);
        assertEquals(old.id(), fx.probe("b", 0, 0x1000).domainId());
        assertEquals(old.id(), fx.probe("c", 0, 0x1000).domainId());
    }

    @Test
    @DisplayName("rule 106: a PASID replace on a two-device group that fails on the second device "
            + "puts the first back: the PASID stays on its domain, no event, nothing changed")
    void pasidReplaceRollsBack() {
        IommuDomain d1 = fx.iommu.domainAlloc("b", false);
        IommuDomain d2 = fx.iommu.domainAlloc("b", false);
        IoasidHandle p = fx.iommu.allocGlobalPasid("b");
        fx.iommu.attachDevicePasid(d1, "b", p);
        be.failPasid.add("c");
        be.replaces.clear();
        List<String> events = new ArrayList<>(fx.events);
        fx.unchanged(ENOMEM, () -> fx.iommu.replaceDevicePasid(d2, "c", p));
        int h1 = ((TestBackend.Dom) ((DomainImpl) d1).hw).id;
        int h2 = ((TestBackend.Dom) ((DomainImpl) d2).hw).id;
        assertEquals(List.of("b:" + p.id() + " " + h1 + ">" + h2,
                "b:" + p.id() + " " + h2 + ">" + h1), be.replaces);
        assertEquals(d1.id(), fx.probe("b", p.id(), 0).domainId());
        assertEquals(d1.id(), fx.probe("c", p.id(), 0).domainId());
        assertEquals(events, fx.events);
        be.failPasid.clear();
        fx.iommu.replaceDevicePasid(d2, "c", p);
        assertEquals(d2.id(), fx.probe("b", p.id(), 0).domainId());
        fx.unchanged(EBUSY, () -> fx.iommu.domainFree(d2));
        fx.iommu.domainFree(d1); // the PASID left it
    }

    @Test
    @DisplayName("rule 106: PASID replace errors: EOPNOTSUPP blocking domain, EINVAL PASID 0 or "
            + "one held by an SVA bind or a private PASID; its own domain is a no-op")
    void pasidReplaceErrors() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        IoasidHandle p = fx.iommu.allocGlobalPasid("a");
        fx.iommu.attachDevicePasid(d, "a", p);
        fx.iommu.claimGroup(fx.iommu.group("b"), "o");
        IommuDomain blocked = fx.iommu.domain(fx.dto(fx.iommu.group("b")).blockingDomainId);
        fx.unchanged(EOPNOTSUPP, () -> fx.iommu.replaceDevicePasid(blocked, "a", p));
        fx.unchanged(EINVAL, () -> fx.iommu.replaceDevicePasid(d, "a", null));
        var priv = fx.iommu.privatePasidAlloc("a");
        fx.unchanged(EINVAL, () -> fx.iommu.replaceDevicePasid(d, "a", priv.pasid()));
        be.calls.clear();
        fx.iommu.replaceDevicePasid(d, "a", p);
        assertEquals(List.of(), be.calls, "its own domain: nothing programmed");
        IommuDomain gone = fx.iommu.domainAlloc("a", false);
        fx.iommu.domainFree(gone);
        fx.unchanged(ENOENT, () -> fx.iommu.replaceDevicePasid(gone, "a", p));
        fx.unchanged(ENOENT, () -> fx.iommu.detachDevicePasid(gone, "a", p));
    }
}
