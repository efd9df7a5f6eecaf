package ioasid.core.iommu;

import static ioasid.api.Errno.EACCES;
import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOMEM;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.api.Errno.EPERM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuGroup;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.IotlbGather;

/** Groups, domains and the attach invariant: rules 40-48, 56-58; D18; known bugs 1, 3. */
class GroupAndDomainTest {
    private final IommuFixture fx = new IommuFixture();
    private final TestBackend be = fx.bind(new TestBackend("t0", 256)
            .device("a", "ga", 8).device("b", "gb", 8).device("c", "gb", 8));

    @Test
    @DisplayName("rules 41, 43: devices with one key form a group, on a DMA-FQ default domain")
    void probeFormsGroups() {
        IommuGroup ga = fx.iommu.group("a");
        IommuGroup gb = fx.iommu.group("b");
        assertSame(gb, fx.iommu.group("c"));
        assertNotEquals(ga.id(), gb.id());
        assertEquals(List.of("b", "c"), gb.devices());
        GroupDTO d = fx.dto(gb);
        assertEquals("DMA_FQ", d.defaultDomainType);
        assertEquals(d.defaultDomainId, d.domainId);
        assertEquals(-1, d.blockingDomainId, "the blocking domain is made lazily");
        assertEquals(0, d.ownerCount);
        assertSame(be.domainOf("b"), be.domainOf("c"));
    }

    @Test
    @DisplayName("rule 41: strict mode gives DMA, passthrough identity, memory encryption forces it off")
    void platformDefaults() {
        assertEquals(DomainType.DMA, IommuCore.platformDefault("strict", false));
        assertEquals(DomainType.IDENTITY, IommuCore.platformDefault("passthrough", false));
        assertEquals(DomainType.DMA_FQ, IommuCore.platformDefault("passthrough", true));
        assertEquals(DomainType.DMA_FQ, IommuCore.platformDefault("auto", false));
        assertEquals(EINVAL, org.junit.jupiter.api.Assertions.assertThrows(
                ioasid.api.IoasidException.class,
                () -> IommuCore.platformDefault("fast", false)).errno());
        IommuFixture pt = new IommuFixture(DomainType.IDENTITY);
        pt.bind(new TestBackend("p", 0).device("x", "x", 0));
        assertEquals(Translation.Outcome.BYPASS, pt.probe("x", 0, 0x1234).outcome());
        assertEquals(0x1234, pt.probe("x", 0, 0x1234).physAddr());
    }

    @Test
    @DisplayName("rule 41: a default type the hardware lacks falls back to the next one")
    void defaultFallback() {
        IommuFixture f = new IommuFixture();
        TestBackend nofq = new TestBackend("n", 0).device("x", "x", 0);
        nofq.caps = IommuCaps.builder("test").domainTypes(java.util.EnumSet.of(DomainType.BLOCKED,
                DomainType.UNMANAGED, DomainType.DMA)).build();
        f.bind(nofq);
        assertEquals("DMA", f.iommu.groups()[0].defaultDomainType);
    }

    @Test
    @DisplayName("rule 44: attaching moves every device of the group; attaching again is a no-op")
    void attachGroup() {
        IommuGroup g = fx.iommu.group("b");
        IommuDomain d = fx.iommu.domainAlloc("b", false);
        fx.iommu.attachGroup(d, g);
        assertEquals(d.id(), fx.dto(g).domainId);
        assertSame(be.domainOf("b"), be.domainOf("c"));
        int calls = be.calls.size();
        fx.iommu.attachGroup(d, g);
        assertEquals(calls, be.calls.size(), "same domain: nothing to do");
    }

    @Test
    @DisplayName("rule 44, D18: a failed switch puts moved devices back; the group stays on its old domain")
    void failedSwitchRollsBack() {
        IommuGroup g = fx.iommu.group("b");
        IommuDomain d = fx.iommu.domainAlloc("b", false);
        int before = fx.dto(g).domainId;
        TestBackend.Dom old = be.domainOf("b");
        be.failAttach.add("c");
        fx.unchanged(ENOMEM, () -> fx.iommu.attachGroup(d, g));
        assertEquals(before, fx.dto(g).domainId);
        assertSame(old, be.domainOf("b"), "b went back");
        assertSame(old, be.domainOf("c"));
    }

    @Test
    @DisplayName("D18: during a switch every device's DMA reaches the old or the new domain, never else")
    void attachInvariantMidSwitch() {
        IommuGroup g = fx.iommu.group("b");
        IommuDomain next = fx.iommu.domainAlloc("b", false);
        fx.iommu.map(next, 0x1000, 0x900000, 0x1000, Prot.READ);
        int oldId = fx.dto(g).domainId;
        List<String> seen = new ArrayList<>();
        be.duringAttach = (dev, dom) -> {
            for (String x : List.of("b", "c")) {
                Translation t = be.translate(x, 0, 0x1000, Access.READ).domain() == null ? null
                        : fx.iommu.translate(x, 0, 0x1000, Access.READ);
                int via = t == null ? -1 : t.domainId();
                seen.add(x + "@" + via);
                assertTrue(via == oldId || via == next.id(), x + " reached domain " + via);
            }
        };
        fx.iommu.attachGroup(next, g);
        assertEquals(List.of("b@" + next.id(), "c@" + oldId, "b@" + next.id(), "c@" + next.id()),
                seen);
        be.duringAttach = null;
        IommuDomain third = fx.iommu.domainAlloc("b", false);
        fx.iommu.detachGroup(next, g);
        be.failAttach.add("c");
        be.duringAttach = (dev, dom) -> {
            int via = fx.iommu.translate("b", 0, 0x1000, Access.READ).domainId();
            assertTrue(via == fx.dto(g).domainId || via == third.id(), "b reached " + via);
        };
        fx.unchanged(ENOMEM, () -> fx.iommu.attachGroup(third, g));
    }

    @Test
    @DisplayName("rules 45, 48: detach returns to the default domain; EINVAL when not attached")
    void detachToDefault() {
        IommuGroup g = fx.iommu.group("a");
        int def = fx.dto(g).defaultDomainId;
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.unchanged(EINVAL, () -> fx.iommu.detachGroup(d, g));
        fx.iommu.attachGroup(d, g);
        fx.iommu.detachGroup(d, g);
        assertEquals(def, fx.dto(g).domainId);
        fx.unchanged(EINVAL, () -> fx.iommu.detachGroup(d, g));
    }

    @Test
    @DisplayName("rule 46: a second caller domain is EBUSY; attaching over the default is fine")
    void oneCallerDomain() {
        IommuGroup g = fx.iommu.group("a");
        IommuDomain d1 = fx.iommu.domainAlloc("a", false);
        IommuDomain d2 = fx.iommu.domainAlloc("a", false);
        fx.iommu.attachGroup(d1, g);
        fx.unchanged(EBUSY, () -> fx.iommu.attachGroup(d2, g));
        fx.iommu.detachGroup(d1, g);
        fx.iommu.attachGroup(d2, g);
        assertEquals(d2.id(), fx.dto(g).domainId);
    }

    @Test
    @DisplayName("rule 47: attachDevice needs a single-device group (EINVAL) and a known device (ENODEV)")
    void attachDevice() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.unchanged(EINVAL, () -> fx.iommu.attachDevice(d, "b"));
        fx.unchanged(ENODEV, () -> fx.iommu.attachDevice(d, "nope"));
        fx.iommu.attachDevice(d, "a");
        fx.unchanged(EINVAL, () -> fx.iommu.detachDevice(d, "b"));
        fx.iommu.detachDevice(d, "a");
        assertEquals(fx.dto(fx.iommu.group("a")).defaultDomainId, fx.dto(fx.iommu.group("a")).domainId);
    }

    @Test
    @DisplayName("rule 38: a domain of another IOMMU cannot be attached (EINVAL)")
    void foreignBackendDomain() {
        fx.bind(new TestBackend("t1", 16).device("z", "z", 4));
        IommuDomain other = fx.iommu.domainAlloc("z", false);
        fx.unchanged(EINVAL, () -> fx.iommu.attachGroup(other, fx.iommu.group("a")));
        fx.unchanged(EINVAL, () -> fx.iommu.attachGroup(null, fx.iommu.group("a")));
    }

    @Test
    @DisplayName("known bug 1: claim, attach D, detach, free D: the group is on the blocking "
            + "domain and no DMA reaches D; D is ENOENT from then on (D20)")
    void staleDomainAfterDetach() {
        IommuGroup g = fx.iommu.group("a");
        fx.iommu.claimGroup(g, "vfio");
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.attachGroup(d, g);
        fx.unchanged(EBUSY, () -> fx.iommu.domainFree(d));
        fx.iommu.detachGroup(d, g);
        fx.iommu.domainFree(d);
        assertFalse(d.live());
        GroupDTO dto = fx.dto(g);
        assertEquals(dto.blockingDomainId, dto.domainId);
        assertEquals(DomainType.BLOCKED, be.domainOf("a").type);
        Translation t = fx.probe("a", 0, 0x1000);
        assertEquals(Translation.Outcome.FAULT, t.outcome());
        assertEquals(dto.blockingDomainId, t.domainId());
        fx.unchanged(ioasid.api.Errno.ENOENT, () -> fx.iommu.map(d, 0, 0, 0x1000, Prot.READ));
    }

    @Test
    @DisplayName("known bug 3: without default domains a single caller attach works, again and again")
    void noDefaultDomains() {
        IommuFixture f = new IommuFixture();
        TestBackend rk = new TestBackend("rk3288", 0).device("vop", "vop", 0);
        rk.caps = IommuCaps.builder("test").defaultDomains(false).build();
        f.bind(rk);
        IommuGroup g = f.iommu.group("vop");
        assertEquals(-1, f.iommu.groups()[0].domainId);
        assertEquals("NO_DOMAIN", f.probe("vop", 0, 0).fault());
        IommuDomain d1 = f.iommu.domainAlloc("vop", false);
        f.iommu.attachGroup(d1, g);
        f.iommu.detachGroup(d1, g);
        assertEquals(-1, f.iommu.groups()[0].domainId, "back to no domain");
        IommuDomain d2 = f.iommu.domainAlloc("vop", false);
        f.iommu.attachGroup(d2, g);
        assertEquals(d2.id(), f.iommu.groups()[0].domainId);
    }

    @Test
    @DisplayName("domain allocation: nesting only where supported; free refuses core domains "
            + "(EINVAL) and freed ones (ENOENT, D20)")
    void domainAllocFree() {
        IommuFixture f = new IommuFixture();
        TestBackend flat = new TestBackend("flat", 0).device("x", "x", 0);
        flat.caps = IommuCaps.builder("test").nesting(false).build();
        f.bind(flat);
        f.unchanged(EOPNOTSUPP, () -> f.iommu.domainAlloc("x", true));
        f.unchanged(ENODEV, () -> f.iommu.domainAlloc("y", false));
        IommuDomain def = f.iommu.domain(f.iommu.groups()[0].defaultDomainId);
        f.unchanged(EINVAL, () -> f.iommu.domainFree(def));
        IommuDomain d = f.iommu.domainAlloc("x", false);
        f.iommu.domainFree(d);
        f.unchanged(ioasid.api.Errno.ENOENT, () -> f.iommu.domainFree(d)); // D20: was EINVAL
        f.unchanged(ioasid.api.Errno.ENOENT, () -> f.iommu.domain(d.id()));
    }

    @Test
    @DisplayName("rule 42: changing the default type needs privilege, a valid type and an unused group")
    void setDefaultTypeErrors() {
        IommuGroup g = fx.iommu.group("a");
        fx.unchanged(EACCES, () -> fx.iommu.setDefaultDomainType(g, DomainType.IDENTITY, false));
        fx.unchanged(EINVAL, () -> fx.iommu.setDefaultDomainType(g, DomainType.BLOCKED, true));
        fx.unchanged(EINVAL, () -> fx.iommu.setDefaultDomainType(g, DomainType.UNMANAGED, true));
        fx.iommu.useDefaultDomain("a");
        fx.unchanged(EPERM, () -> fx.iommu.setDefaultDomainType(g, DomainType.IDENTITY, true));
    }

    @Test
    @DisplayName("rule 42: identity replaces the default domain; DMA to DMA-FQ happens in place")
    void setDefaultType() {
        IommuGroup g = fx.iommu.group("a");
        fx.iommu.setDefaultDomainType(g, DomainType.IDENTITY, true);
        assertEquals("IDENTITY", fx.dto(g).domainType);
        assertEquals(Translation.Outcome.BYPASS, fx.probe("a", 0, 0x5000).outcome());
        fx.iommu.setDefaultDomainType(g, DomainType.DMA, true);
        int dma = fx.dto(g).domainId;
        fx.iommu.useDefaultDomain("a"); // a driver is bound
        fx.iommu.setDefaultDomainType(g, DomainType.DMA_FQ, true);
        assertEquals(dma, fx.dto(g).domainId, "same domain, now with a flush queue");
        assertEquals("DMA_FQ", fx.dto(g).domainType);
        fx.iommu.unuseDefaultDomain("a");
        fx.iommu.setDefaultDomainType(g, null, true); // auto: the platform default, DMA-FQ
        assertEquals("DMA_FQ", fx.dto(g).domainType);
    }

    @Test
    @DisplayName("rule 56: iova_to_phys gives the IOVA for identity and 0 for blocked or unmapped")
    void iovaToPhys() {
        IommuGroup g = fx.iommu.group("a");
        fx.iommu.setDefaultDomainType(g, DomainType.IDENTITY, true);
        IommuDomain id = fx.iommu.domain(fx.dto(g).defaultDomainId);
        assertEquals(0x123456, fx.iommu.iovaToPhys(id, 0x123456));
        fx.iommu.claimGroup(g, "o");
        IommuDomain blocked = fx.iommu.domain(fx.dto(g).blockingDomainId);
        assertEquals(0, fx.iommu.iovaToPhys(blocked, 0x123456));
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        assertEquals(0, fx.iommu.iovaToPhys(d, 0x7000));
        fx.iommu.map(d, 0x7000, 0x55000, 0x1000, Prot.READ);
        assertEquals(0x55123, fx.iommu.iovaToPhys(d, 0x7123));
    }

    @Test
    @DisplayName("rule 57: map checks paging type, alignment, flags, overflow and aperture")
    void mapChecks() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        IommuDomain def = fx.iommu.domain(fx.dto(fx.iommu.group("a")).defaultDomainId);
        fx.iommu.claimGroup(fx.iommu.group("b"), "o");
        IommuDomain blocked = fx.iommu.domain(fx.dto(fx.iommu.group("b")).blockingDomainId);
        fx.unchanged(EINVAL, () -> fx.iommu.map(blocked, 0, 0, 0x1000, Prot.READ));
        fx.unchanged(EINVAL, () -> fx.iommu.map(d, 0x1001, 0, 0x1000, Prot.READ));
        fx.unchanged(EINVAL, () -> fx.iommu.map(d, 0x1000, 0x10, 0x1000, Prot.READ));
        fx.unchanged(EINVAL, () -> fx.iommu.map(d, 0x1000, 0, 0x1800, Prot.READ));
        fx.unchanged(EINVAL, () -> fx.iommu.map(d, 0x1000, 0, 0, Prot.READ));
        fx.unchanged(EINVAL, () -> fx.iommu.map(d, 0x1000, 0, 0x1000, 1 << 9));
        fx.unchanged(EINVAL, () -> fx.iommu.map(d, (1L << 48) - 0x1000, 0, 0x2000, Prot.READ));
        fx.unchanged(EINVAL, () -> fx.iommu.map(d, 0x1000, Long.MAX_VALUE - 0xfff, 0x2000,
                Prot.READ));
        fx.unchanged(EINVAL, () -> fx.iommu.map(d, -0x1000, 0, 0x1000, Prot.READ));
        fx.iommu.map(def, 0x3000, 0x3000, 0x1000, Prot.READ | Prot.WRITE); // a DMA domain maps too
        assertEquals(0x3000, fx.iommu.iovaToPhys(def, 0x3000));
    }

    @Test
    @DisplayName("rule 57: a full 64-bit aperture (end -1, unsigned) maps high addresses")
    void fullAperture() {
        IommuFixture f = new IommuFixture();
        TestBackend wide = new TestBackend("wide", 0).device("w", "w", 0);
        wide.caps = IommuCaps.builder("test").addressBits(64, 48).build();
        f.bind(wide);
        IommuDomain d = f.iommu.domainAlloc("w", false);
        f.iommu.map(d, 0x7FFF_0000_0000_0000L, 0x1000, 0x1000, Prot.READ);
        assertEquals(0x1000, f.iommu.iovaToPhys(d, 0x7FFF_0000_0000_0000L));
    }

    @Test
    @DisplayName("rule 57: each chunk uses the largest page size alignment and size allow")
    void mapPageSizes() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        be.calls.clear();
        // 4K pages up to the 2M boundary, one 2M page, then 4K pages again
        fx.iommu.map(d, 0x1FE000, 0x5FE000, 0x204000, Prot.READ);
        List<String> maps = be.calls.stream().filter(c -> c.startsWith("map")).toList();
        String id = String.valueOf(((TestBackend.Dom) ((DomainImpl) d).hw).id);
        assertEquals(List.of("map " + id + " 0x1fe000 pgsize 0x1000 x2",
                "map " + id + " 0x200000 pgsize 0x200000 x1",
                "map " + id + " 0x400000 pgsize 0x1000 x2"), maps);
        be.calls.clear();
        // iova and paddr offset differently within 2M: only 4K pages
        fx.iommu.map(d, 0x800000, 0x801000, 0x200000, Prot.READ);
        assertEquals(List.of("map " + id + " 0x800000 pgsize 0x1000 x512"),
                be.calls.stream().filter(c -> c.startsWith("map")).toList());
    }

    @Test
    @DisplayName("rule 57: a map that fails part way is undone: nothing of it stays mapped")
    void mapUnwinds() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.map(d, 0x203000, 0x9000, 0x1000, Prot.READ);
        // [0x1FF000, 0x205000): the first chunk maps, the last hits the existing page
        fx.unchanged(EEXIST, () -> fx.iommu.map(d, 0x1FF000, 0x1FF000, 0x6000, Prot.READ));
        assertEquals(0, fx.iommu.iovaToPhys(d, 0x1FF000));
        assertEquals(0x9000, fx.iommu.iovaToPhys(d, 0x203000));
    }

    @Test
    @DisplayName("rule 58: unmap returns bytes, stops at the first hole, syncs; 0 when misaligned")
    void unmap() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.map(d, 0x1000, 0x10000, 0x3000, Prot.READ);
        fx.iommu.map(d, 0x5000, 0x20000, 0x1000, Prot.READ);
        assertEquals(0, fx.iommu.unmap(d, 0x1800, 0x1000));
        be.calls.clear();
        assertEquals(0x3000, fx.iommu.unmap(d, 0x1000, 0x5000), "stops at the hole at 0x4000");
        assertTrue(be.calls.stream().anyMatch(c -> c.startsWith("sync")), be.calls.toString());
        assertEquals(0x20000, fx.iommu.iovaToPhys(d, 0x5000));
        assertEquals(0, fx.iommu.unmap(d, 0x9000, 0x1000), "nothing mapped there");
        fx.iommu.claimGroup(fx.iommu.group("b"), "o");
        IommuDomain blocked = fx.iommu.domain(fx.dto(fx.iommu.group("b")).blockingDomainId);
        assertEquals(0, fx.iommu.unmap(blocked, 0x1000, 0x1000));
    }

    @Test
    @DisplayName("rule 58: unmap_fast only gathers; the caller's sync invalidates and resets the gather")
    void unmapFast() {
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.map(d, 0x1000, 0x10000, 0x2000, Prot.READ);
        be.calls.clear();
        IotlbGather gather = new IotlbGather();
        assertEquals(0x2000, fx.iommu.unmapFast(d, 0x1000, 0x2000, gather));
        assertTrue(be.calls.stream().noneMatch(c -> c.startsWith("sync")));
        assertEquals(0x1000, gather.start());
        fx.iommu.iotlbSync(d, gather);
        assertTrue(gather.isEmpty());
        assertEquals(1, be.calls.stream().filter(c -> c.startsWith("sync")).count());
        fx.unchanged(EINVAL, () -> fx.iommu.unmapFast(d, 0x1000, 0x1000, null));
        fx.iommu.flushIotlbAll(d);
        assertTrue(be.calls.stream().anyMatch(c -> c.startsWith("flush")));
    }

    @Test
    @DisplayName("rule 40: group snapshots name their domains' types")
    void groupSnapshot() {
        GroupDTO d = fx.dto(fx.iommu.group("a"));
        assertEquals("t0", d.backend);
        assertEquals(List.of("a"), List.of(d.devices));
        assertFalse(d.blocked);
        assertEquals(3, fx.iommu.devices().length);
        assertEquals(1, fx.iommu.backends().length);
        assertEquals(0, fx.iommu.backends()[0].rejectedDevices.length);
    }
}
