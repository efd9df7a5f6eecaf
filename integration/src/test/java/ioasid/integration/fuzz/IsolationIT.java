package ioasid.integration.fuzz;

import static ioasid.api.Errno.EACCES;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.EPERM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuGroup;
import ioasid.api.iommu.PrivatePasid;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.SvaHandle;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.Vdevice;
import ioasid.api.iommu.Viommu;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.spi.EventType;
import ioasid.core.impl.IoasidCore;

/**
 * Isolation between tenants and across lifetimes, on a bare IOASID core and on the IOMMU core
 * over the real backends ({@link BackendsFixture}): a set's owner cannot act on another set's IDs,
 * an address space cannot take another's, a stale handle can do nothing, a vDevice cannot
 * cross vIOMMUs, and no translation reaches a freed domain. Every refusal leaves the state as
 * it was.
 */
class IsolationIT {
    private static EnumSet<Errno> only(Errno e) {
        return EnumSet.of(e);
    }

    private static <T> void refused(String what, Errno errno, Supplier<String> state, Supplier<T> op) {
        Fuzz.call(what, only(errno), state, op);
    }

    private static void refusedRun(String what, Errno errno, Supplier<String> state, Runnable op) {
        Fuzz.call(what, only(errno), state, () -> {
            op.run();
            return null;
        });
    }

    @Test
    @DisplayName("isolation: a set's owner cannot free, get, put, find or take SPIDs of another "
            + "set's IDs (EACCES), and SPIDs are private to their set")
    void setOwnerIsolation() {
        IoasidCore core = new IoasidCore(20, 10_000);
        IoasidModel model = new IoasidModel(core);
        IoasidSet a = core.createSet(TokenType.NONE, "tenant-a", 10);
        IoasidSet b = core.createSet(TokenType.NONE, "tenant-b", 10);
        IoasidHandle mine = core.alloc(a, 1, 0xFFFFF, "a's");
        IoasidHandle theirs = core.alloc(b, 1, 0xFFFFF, "b's");
        IoasidHandle theirsPending = core.alloc(b, 1, 0xFFFFF, null);
        core.get(theirsPending);
        core.free(theirsPending);
        core.attachSpid(theirs, 42);
        for (IoasidHandle t : List.of(theirs, theirsPending)) {
            int id = t.id();
            refusedRun("free(a, " + id + ")", EACCES, model::snapshot, () -> core.free(a, id));
            refused("get(a, " + id + ")", EACCES, model::snapshot, () -> core.get(a, id));
            refused("put(a, " + id + ")", EACCES, model::snapshot, () -> core.put(a, id));
            refused("find(a, " + id + ")", EACCES, model::snapshot, () -> core.find(a, id));
        }
        // a's SPID namespace does not see b's SPID 42, so a cannot reach b's ID through it
        refused("findBySpid(a, 42)", ENOENT, model::snapshot, () -> core.findBySpid(a, 42, true));
        // the same SPID number is free to use in a: private namespaces, no clash, no BIND on b's
        core.attachSpid(mine, 42);
        assertEquals(mine, core.findBySpid(a, 42, false));
        assertEquals(theirs, core.findBySpid(b, 42, false));
        assertEquals(1, theirs.refCount());
        assertEquals(IoasidState.IDLE, theirs.state());
        assertEquals(IoasidState.FREE_PENDING, theirsPending.state());
        assertEquals(1, theirsPending.refCount());
        // b's own owner can
        core.put(b, theirsPending.id());
        assertEquals(IoasidState.FREE, theirsPending.state());
        core.free(b, theirs.id());
        assertEquals(IoasidState.FREE, theirs.state());
        assertEquals(IoasidState.IDLE, mine.state());
    }

    @Test
    @DisplayName("isolation: getIfOwned refuses another address space's ID (EPERM) and a non-MM "
            + "set's (EINVAL)")
    void addressSpaceIsolation() {
        IoasidCore core = new IoasidCore(20, 10_000);
        IoasidModel model = new IoasidModel(core);
        Object mm1 = "mm-1";
        Object mm2 = "mm-2";
        IoasidSet s1 = core.createSet(TokenType.MM, mm1, 4);
        IoasidSet s2 = core.createSet(TokenType.MM, mm2, 4);
        IoasidSet plain = core.createSet(TokenType.NONE, mm1, 4); // same token, other type
        IoasidHandle p1 = core.alloc(s1, 1, 0xFFFFF, null);
        IoasidHandle p2 = core.alloc(s2, 1, 0xFFFFF, null);
        IoasidHandle p3 = core.alloc(plain, 1, 0xFFFFF, null);
        refused("getIfOwned(mm1, p2)", EPERM, model::snapshot, () -> core.getIfOwned(mm1, p2.id()));
        refused("getIfOwned(mm2, p1)", EPERM, model::snapshot, () -> core.getIfOwned(mm2, p1.id()));
        refused("getIfOwned(mm1, plain)", EINVAL, model::snapshot,
                () -> core.getIfOwned(mm1, p3.id()));
        refused("getIfOwned(other-mm, p1)", EPERM, model::snapshot,
                () -> core.getIfOwned(new String("mm-3"), p1.id()));
        // an equal token object is the same address space (tokens compare with equals)
        assertEquals(p1, core.getIfOwned(new String("mm-1"), p1.id()));
        assertEquals(2, p1.refCount());
        assertEquals(1, p2.refCount());
        // a foreign space's handle of the same number means nothing here
        IoasidCore host = new IoasidCore(20, 10_000);
        IoasidHandle h = host.alloc(host.createSet(TokenType.MM, mm2, 4), 1, 0xFFFFF, null);
        assertEquals(p1.id(), h.id());
        refused("getIfOwned(mm2, " + h.id() + ") here", EPERM, model::snapshot,
                () -> core.getIfOwned(mm2, h.id()));
        refusedRun("get(foreign handle)", EINVAL, model::snapshot, () -> core.get(h));
        refusedRun("free(foreign handle)", EINVAL, model::snapshot, () -> core.free(h));
        assertEquals(IoasidState.IDLE, h.state());
    }

    @Test
    @DisplayName("isolation: a stale handle cannot act after free, on the IOASID service and the "
            + "IOMMU, even once its number is allocated again")
    void staleHandleIsolation() {
        BackendsFixture bench = new BackendsFixture();
        IoasidCore core = bench.ioasid;
        var iommu = bench.iommu;
        Supplier<String> state = () -> Fuzz.str(core.ids(null, 1000)) + Fuzz.str(core.sets())
                + BackendsFixture.snapshot(iommu);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle stale = core.alloc(s, 1, 0xFFFFF, "old");
        int number = stale.id();
        core.attachSpid(stale, 3);
        core.free(stale);
        IoasidHandle reborn = core.alloc(s, 1, 0xFFFFF, "new");
        assertEquals(number, reborn.id(), "the number is reused");
        assertNotEquals(stale, reborn);
        // every handle operation of the IOASID service
        refusedRun("free", ENOENT, state, () -> core.free(stale));
        refusedRun("get", EINVAL, state, () -> core.get(stale));
        refused("put", ENOENT, state, () -> core.put(stale));
        refusedRun("attachData", ENOENT, state, () -> core.attachData(stale, "x"));
        refused("setData", ENOENT, state, () -> core.setData(stale, "x"));
        refused("detachData", ENOENT, state, () -> core.detachData(stale));
        refusedRun("attachSpid", ENOENT, state, () -> core.attachSpid(stale, 4));
        refusedRun("detachSpid", ENOENT, state, () -> core.detachSpid(stale));
        for (EventType t : List.of(EventType.BIND, EventType.UNBIND)) {
            refusedRun("notify " + t, ENOENT, state, () -> core.notify(stale, t));
        }
        assertEquals(IoasidState.FREE, stale.state());
        assertEquals(IoasidState.IDLE, reborn.state());
        assertEquals("new", reborn.privateData());
        assertEquals(-1, reborn.spid());
        // the IOMMU's handles: a freed global PASID, domain, vIOMMU, vDevice, SVA bind, private PASID
        String dev = BackendsFixture.SMMU_DEV;
        IoasidHandle pasid = iommu.allocGlobalPasid(dev);
        iommu.freeGlobalPasid(pasid);
        IommuDomain d = iommu.domainAlloc(dev, true);
        refusedRun("attachDevicePasid(stale PASID)", EINVAL, state,
                () -> iommu.attachDevicePasid(d, dev, pasid));
        refusedRun("freeGlobalPasid(stale)", EINVAL, state, () -> iommu.freeGlobalPasid(pasid));
        Viommu v = iommu.viommuAlloc(dev, d);
        Vdevice vd = iommu.vdeviceAlloc(v, dev, 0x10);
        iommu.vdeviceDestroy(vd);
        refusedRun("vdeviceDestroy(stale)", ENOENT, state, () -> iommu.vdeviceDestroy(vd));
        iommu.viommuDestroy(v);
        refusedRun("viommuDestroy(stale)", ENOENT, state, () -> iommu.viommuDestroy(v));
        refusedRun("viommuTeardown(stale)", ENOENT, state, () -> iommu.viommuTeardown(v));
        refused("vdeviceAlloc(stale vIOMMU)", ENOENT, state, () -> iommu.vdeviceAlloc(v, dev, 1));
        refused("vdeviceFind(stale vIOMMU)", ENOENT, state, () -> iommu.vdeviceFind(v, 0x10));
        iommu.domainFree(d);
        refusedRun("domainFree(stale)", ENOENT, state, () -> iommu.domainFree(d));
        refusedRun("map(stale domain)", ENOENT, state, () -> iommu.map(d, 0, 0x1000, 0x1000,
                Prot.READ));
        refused("unmap(stale domain)", ENOENT, state, () -> iommu.unmap(d, 0, 0x1000));
        refused("iovaToPhys(stale domain)", ENOENT, state, () -> iommu.iovaToPhys(d, 0));
        refusedRun("flushIotlbAll(stale domain)", ENOENT, state, () -> iommu.flushIotlbAll(d));
        refusedRun("attachGroup(stale domain)", ENOENT, state,
                () -> iommu.attachGroup(d, iommu.group(dev)));
        refusedRun("attachDevice(stale domain)", ENOENT, state, () -> iommu.attachDevice(d, dev));
        refused("viommuAlloc(stale parent)", ENOENT, state, () -> iommu.viommuAlloc(dev, d));
        IoasidHandle live = iommu.allocGlobalPasid(dev);
        refusedRun("attachDevicePasid(stale domain)", ENOENT, state,
                () -> iommu.attachDevicePasid(d, dev, live));
        BackendsFixture.Mm mm = new BackendsFixture.Mm("p", 5);
        SvaHandle sva = iommu.svaBind(dev, mm);
        iommu.svaUnbind(sva);
        refusedRun("svaUnbind(stale)", EINVAL, state, () -> iommu.svaUnbind(sva));
        PrivatePasid pp = iommu.privatePasidAlloc(dev);
        iommu.privatePasidFree(pp);
        refusedRun("privatePasidFree(stale)", ENODEV, state, () -> iommu.privatePasidFree(pp));
        refusedRun("private map(stale)", ENODEV, state, () -> pp.map(0, 0x1000, 0x1000, Prot.READ));
        refused("private unmap(stale)", ENODEV, state, () -> pp.unmap(0, 0x1000));
        refused("private iovaToPhys(stale)", ENODEV, state, () -> pp.iovaToPhys(0));
        refusedRun("private sync(stale)", ENODEV, state, pp::sync);
        assertEquals(IoasidState.FREE, pp.pasid().state());
        assertFalse(iommu.translate(dev, pp.pasid().id(), 0, Access.READ).translated());
    }

    @Test
    @DisplayName("isolation: a vDevice cannot cross vIOMMUs, and a virtual ID of one vIOMMU is "
            + "not found in another")
    void vdeviceIsolation() {
        BackendsFixture bench = new BackendsFixture();
        var iommu = bench.iommu;
        Supplier<String> state = () -> BackendsFixture.snapshot(iommu);
        String dev0 = BackendsFixture.SMMU_DEV;
        String dev1 = BackendsFixture.SMMU1_DEV;
        String vtd = BackendsFixture.VTD_DEV;
        IommuDomain p0 = iommu.domainAlloc(dev0, true);
        IommuDomain p1 = iommu.domainAlloc(dev1, true);
        IommuDomain pv = iommu.domainAlloc(vtd, true);
        Viommu v0 = iommu.viommuAlloc(dev0, p0);
        Viommu v1 = iommu.viommuAlloc(dev1, p1);
        Viommu vv = iommu.viommuAlloc(vtd, pv);
        // a vIOMMU on a parent of another IOMMU instance
        refused("viommuAlloc(dev0, parent of smmu1)", EINVAL, state, () -> iommu.viommuAlloc(dev0, p1));
        // a device behind one IOMMU instance gets no virtual ID in another's vIOMMU
        refused("vdeviceAlloc(v0, dev1)", EINVAL, state, () -> iommu.vdeviceAlloc(v0, dev1, 0x1));
        refused("vdeviceAlloc(v1, dev0)", EINVAL, state, () -> iommu.vdeviceAlloc(v1, dev0, 0x1));
        refused("vdeviceAlloc(vtd vIOMMU, dev0)", EINVAL, state,
                () -> iommu.vdeviceAlloc(vv, dev0, 0x1));
        refused("vdeviceAlloc(v0, vtd dev)", EINVAL, state, () -> iommu.vdeviceAlloc(v0, vtd, 0x1));
        Vdevice a = iommu.vdeviceAlloc(v0, dev0, 0x21);
        Vdevice b = iommu.vdeviceAlloc(v1, dev1, 0x21); // the same virtual ID, another vIOMMU
        Vdevice c = iommu.vdeviceAlloc(vv, vtd, 0x22);
        assertEquals(dev0, iommu.vdeviceFind(v0, 0x21));
        assertEquals(dev1, iommu.vdeviceFind(v1, 0x21));
        refused("vdeviceFind(vtd vIOMMU, 0x21)", ENOENT, state, () -> iommu.vdeviceFind(vv, 0x21));
        refused("vdeviceFind(v0, 0x22)", ENOENT, state, () -> iommu.vdeviceFind(v0, 0x22));
        refused("vdeviceId(v1, dev0)", ENOENT, state, () -> iommu.vdeviceId(v1, dev0));
        refused("vdeviceId(v0, dev1)", ENOENT, state, () -> iommu.vdeviceId(v0, dev1));
        refused("vdeviceId(v0, vtd)", ENOENT, state, () -> iommu.vdeviceId(v0, vtd));
        // destroying one vIOMMU's vDevices touches nobody else's
        iommu.viommuTeardown(v0);
        assertFalse(a.live());
        assertTrue(b.live() && c.live());
        assertEquals(dev1, iommu.vdeviceFind(v1, 0x21));
        assertEquals(0x22, iommu.vdeviceId(vv, vtd));
        // and a vIOMMU whose backend left loses its vDevices; the others keep theirs
        bench.stop("smmu1");
        assertFalse(b.live());
        refused("vdeviceFind(v1 after its backend left)", ENOENT, state, () -> iommu.vdeviceFind(v1,
                0x21));
        assertEquals(vtd, iommu.vdeviceFind(vv, 0x22));
    }

    @Test
    @DisplayName("isolation: no translation reaches a freed domain (known bug 1): claim, attach, "
            + "map, detach, free; every device and PASID probed, also across a backend leaving "
            + "and returning")
    void freedDomainIsolation() {
        BackendsFixture bench = new BackendsFixture();
        var iommu = bench.iommu;
        Set<Integer> freed = new HashSet<>();
        int probes = 0;
        for (String dev : List.of(BackendsFixture.SMMU_DEV, BackendsFixture.SMMU_PAIR_A, BackendsFixture.VTD_DEV,
                BackendsFixture.VIRTIO_DEV)) {
            IommuGroup g = iommu.group(dev);
            iommu.claimGroup(g, "vfio");
            IommuDomain d = iommu.domainAlloc(dev, false);
            iommu.attachGroup(d, g);
            iommu.map(d, 0x1000, 0x7000000, 0x1000, Prot.READ | Prot.WRITE);
            Translation t = iommu.translate(dev, 0, 0x1000, Access.READ);
            assertEquals(0x7000000, t.physAddr(), dev + ": " + t);
            IoasidHandle pasid = null;
            if (iommu.maxPasids(dev) > 0) {
                // the same domain at a PASID of another device of another IOMMU must not matter
                pasid = iommu.allocGlobalPasid(dev);
            }
            iommu.detachGroup(d, g);
            iommu.domainFree(d);
            freed.add(d.id());
            GroupDTO dto = java.util.Arrays.stream(iommu.groups()).filter(x -> x.id == g.id())
                    .findFirst().orElseThrow();
            assertEquals(dto.blockingDomainId, dto.domainId, dev + ": detached while owned goes "
                    + "to the blocking domain (rule 48)");
            for (Access a : Access.values()) {
                Translation after = iommu.translate(dev, 0, 0x1000, a);
                assertEquals(Translation.Outcome.FAULT, after.outcome(), dev + ": " + after);
                assertNotEquals(d.id(), after.domainId());
            }
            if (pasid != null) {
                assertFalse(iommu.translate(dev, pasid.id(), 0x1000, Access.READ).translated());
                iommu.freeGlobalPasid(pasid);
            }
            probes += BackendsFixture.probeAll(iommu, freed, 0x1000);
            iommu.releaseGroup(g);
        }
        // a backend that leaves and returns brings no freed domain back
        for (String be : List.of("smmu0", "dmar0", "viommu0")) {
            bench.stop(be);
            probes += BackendsFixture.probeAll(iommu, freed, 0x1000);
            bench.start(be);
            probes += BackendsFixture.probeAll(iommu, freed, 0x1000);
        }
        assertTrue(probes > 50, "probed " + probes + " translations");
    }
}
