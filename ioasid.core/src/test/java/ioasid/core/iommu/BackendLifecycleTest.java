package ioasid.core.iommu;

import static ioasid.api.Errno.ENODEV;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidState;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuGroup;
import ioasid.api.iommu.PrivatePasid;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.SvaHandle;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.Viommu;
import ioasid.api.iommu.dto.BackendDTO;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;

/** Several backends, and backends that come and go: D16, D17. */
class BackendLifecycleTest {
    private final IommuFixture fx = new IommuFixture();

    @Test
    @DisplayName("D16: several backends serve their own devices; a device two backends claim goes "
            + "to the first")
    void severalBackends() {
        TestBackend smmu = fx.bind(new TestBackend("smmu0", 64).device("a", "a", 6));
        TestBackend vtd = fx.bind(new TestBackend("dmar0", 64).device("b", "b", 6).device("a", "x", 6));
        assertEquals("smmu0", fx.iommu.group("a").backend());
        assertEquals("dmar0", fx.iommu.group("b").backend());
        assertEquals(List.of("a"), List.of(fx.iommu.backends()[1].rejectedDevices));
        assertTrue(smmu.attached.containsKey("a"));
        assertFalse(vtd.attached.containsKey("a"));
        TestBackend twin = new TestBackend("smmu0", 64).device("q", "q", 0);
        fx.bind(twin); // same instance name: ignored
        assertEquals(2, fx.iommu.backends().length);
    }

    @Test
    @DisplayName("D17: a backend leaving blocks its groups, sends UNBIND, kills its domains, handles "
            + "and vIOMMUs; the others go on")
    void backendLeaves() {
        TestBackend gone = fx.bind(new TestBackend("smmu0", 1 << 10).device("a", "ga", 8)
                .device("b", "gb", 8));
        TestBackend stays = fx.bind(new TestBackend("dmar0", 1 << 10).device("z", "gz", 8));
        IommuDomain caller = fx.iommu.domainAlloc("a", true);
        fx.iommu.attachGroup(caller, fx.iommu.group("a"));
        fx.iommu.map(caller, 0x1000, 0x2000, 0x1000, Prot.READ);
        IoasidHandle pasid = fx.iommu.allocGlobalPasid("b");
        IommuDomain pd = fx.iommu.domainAlloc("b", false);
        fx.iommu.attachDevicePasid(pd, "b", pasid);
        SvaHandle sva = fx.iommu.svaBind("b", new TestMm(5));
        PrivatePasid priv = fx.iommu.privatePasidAlloc("b");
        Viommu v = fx.iommu.viommuAlloc("a", caller);
        fx.iommu.vdeviceAlloc(v, "a", 9);
        IoasidHandle zp = fx.iommu.allocGlobalPasid("z");
        fx.iommu.attachDevicePasid(fx.iommu.domainAlloc("z", false), "z", zp);
        fx.events.clear();

        fx.unbind(gone);

        for (String dev : List.of("a", "b")) {
            Translation t = fx.probe(dev, 0, 0x1000);
            assertEquals(Translation.Outcome.FAULT, t.outcome());
            assertEquals("NO_IOMMU", t.fault());
            assertEquals(-1, t.domainId(), "no DMA reaches any domain");
        }
        assertTrue(fx.dto(fx.iommu.group("a")).blocked);
        assertEquals(-1, fx.dto(fx.iommu.group("a")).domainId);
        assertTrue(fx.events.contains("UNBIND " + pasid.id()), fx.events.toString());
        assertTrue(fx.events.contains("UNBIND " + sva.pasid().id()), fx.events.toString());
        assertEquals(1, pasid.refCount(), "the IOMMU's references went");
        assertFalse(caller.live());
        assertFalse(sva.live());
        assertFalse(priv.live());
        assertEquals(IoasidState.FREE, priv.pasid().state(), "a private PASID goes with its table");
        assertFalse(v.live());
        fx.unchanged(ENODEV, () -> fx.iommu.map(caller, 0x5000, 0x2000, 0x1000, Prot.READ));
        fx.unchanged(ENODEV, () -> fx.iommu.domainAlloc("a", false));
        fx.unchanged(ENODEV, () -> fx.iommu.commandLog("smmu0", 5));
        assertTrue(Arrays.stream(fx.iommu.domains()).noneMatch(d -> d.backend.equals("smmu0")));
        // the other backend is untouched
        assertEquals(Translation.Outcome.FAULT, fx.probe("z", 0, 0).outcome());
        assertTrue(stays.pasids.containsKey("z:" + zp.id()));
        assertFalse(fx.dto(fx.iommu.group("z")).blocked);
    }

    @Test
    @DisplayName("D17: a backend leaving with many attached PASIDs sends one UNBIND for each, "
            + "group by group in the order they were attached, and puts every reference, also "
            + "past a listener that fails on one of them")
    void leavingWithManyPasids() {
        TestBackend gone = fx.bind(new TestBackend("smmu0", 1 << 10).device("a", "ga", 12)
                .device("b", "gb", 12));
        IommuDomain pd = fx.iommu.domainAlloc("a", false);
        List<IoasidHandle> inA = new ArrayList<>();
        List<IoasidHandle> inB = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String dev = i % 3 == 0 ? "b" : "a";
            IoasidHandle h = fx.iommu.allocGlobalPasid(dev);
            fx.iommu.attachDevicePasid(pd, dev, h);
            (dev.equals("a") ? inA : inB).add(h);
        }
        IoasidHandle bad = inA.get(57);
        Map<String, Object> props = new HashMap<>();
        props.put(Constants.SERVICE_ID, 99_999L);
        props.put(Constants.SERVICE_RANKING, IoasidListener.PRIORITY_IOMMU - 1);
        props.put(IoasidListener.EVENTS, "UNBIND");
        fx.ioasid.bindListener((IoasidEvent e) -> {
            if (e.id() == bad.id()) {
                throw new IllegalStateException("this listener fails on one UNBIND");
            }
        }, props);
        fx.events.clear();

        fx.unbind(gone);

        List<String> want = new ArrayList<>();
        for (IoasidHandle h : inA) {
            want.add("UNBIND " + h.id());
        }
        for (IoasidHandle h : inB) {
            want.add("UNBIND " + h.id());
        }
        assertEquals(want, fx.events.stream().filter(e -> e.startsWith("UNBIND")).toList());
        for (IoasidHandle h : inA) {
            assertEquals(1, h.refCount(), "the IOMMU's reference on " + h.id() + " went");
        }
        for (IoasidHandle h : inB) {
            assertEquals(1, h.refCount(), "the IOMMU's reference on " + h.id() + " went");
        }
        assertEquals(0, fx.iommu.pasids().length);
    }

    @Test
    @DisplayName("D17: a leaving backend takes exactly its own groups and domains, also after it "
            + "came back under its name, and a domain freed before is not touched again")
    void leavingTakesItsOwnOnly() {
        TestBackend first = fx.bind(new TestBackend("smmu0", 64).device("a", "ga", 6)
                .device("b", "gb", 6).device("c", "gb", 6));
        TestBackend other = fx.bind(new TestBackend("dmar0", 64).device("z", "gz", 6));
        IommuDomain dz = fx.iommu.domainAlloc("z", false);
        fx.iommu.attachGroup(dz, fx.iommu.group("z"));
        fx.iommu.unbindBackend(first, fx.bound.remove(first));
        // back under its name with one device: group ga stays blocked, waiting for "a"
        TestBackend again = fx.bind(new TestBackend("smmu0", 64).device("b", "gb", 6)
                .device("c", "gb", 6));
        IommuDomain kept = fx.iommu.domainAlloc("b", false);
        IommuDomain freed = fx.iommu.domainAlloc("b", false);
        fx.iommu.attachGroup(kept, fx.iommu.group("b"));
        fx.iommu.domainFree(freed);
        IoasidHandle p = fx.iommu.allocGlobalPasid("c");
        fx.iommu.attachDevicePasid(kept, "b", p);
        again.calls.clear();
        fx.events.clear();

        fx.unbind(again);

        assertFalse(kept.live());
        assertFalse(freed.live());
        assertEquals(List.of("UNBIND " + p.id()), fx.events);
        assertEquals(List.of(), again.calls, "the leaving backend is not called");
        assertTrue(fx.dto(fx.iommu.group("b")).blocked);
        assertTrue(Arrays.stream(fx.iommu.domains()).noneMatch(d -> d.backend.equals("smmu0")));
        assertTrue(dz.live(), "the other backend's domains live on");
        assertFalse(fx.dto(fx.iommu.group("z")).blocked);
        assertEquals(dz.id(), fx.dto(fx.iommu.group("z")).domainId);
        assertEquals(2, Arrays.stream(fx.iommu.groups()).filter(g -> g.blocked).count());
        fx.iommu.map(dz, 0x1000, 0x2000, 0x1000, Prot.READ);
        assertTrue(other.attached.containsKey("z"));
        // back once more: every group of the name returns, and leaves again with it
        TestBackend third = fx.bind(new TestBackend("smmu0", 64).device("a", "ga", 6)
                .device("b", "gb", 6).device("c", "gb", 6));
        IommuDomain late = fx.iommu.domainAlloc("a", false);
        fx.unbind(third);
        assertFalse(late.live());
        assertEquals(2, Arrays.stream(fx.iommu.groups())
                .filter(g -> g.blocked && g.backend.equals("smmu0")).count());
    }

    @Test
    @DisplayName("D17: nothing of a departed backend stays reachable from the core")
    void nothingStale() {
        TestBackend gone = new TestBackend("smmu0", 64).device("a", "ga", 6);
        fx.bind(gone);
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.attachGroup(d, fx.iommu.group("a"));
        WeakReference<TestBackend> ref = new WeakReference<>(gone);
        WeakReference<Object> hw = new WeakReference<>(((DomainImpl) d).hw);
        fx.unbind(gone);
        gone = null;
        for (int i = 0; i < 50 && (ref.get() != null || hw.get() != null); i++) {
            System.gc();
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        assertNull(ref.get(), "the backend object is unreachable");
        assertNull(hw.get(), "its domain's hardware object too, though the caller keeps the handle");
        assertFalse(d.live());
    }

    @Test
    @DisplayName("D17: a returning backend puts its groups back on default domains; an owned group "
            + "on its blocking domain")
    void backendReturns() {
        TestBackend first = fx.bind(new TestBackend("smmu0", 64).device("a", "ga", 6)
                .device("b", "gb", 6));
        IommuGroup ga = fx.iommu.group("a");
        IommuGroup gb = fx.iommu.group("b");
        fx.iommu.claimGroup(gb, "vfio");
        fx.unbind(first);
        assertTrue(fx.dto(ga).blocked);
        assertEquals("vfio", fx.dto(gb).owner, "ownership outlives the backend");
        TestBackend again = fx.bind(new TestBackend("smmu0", 64).device("a", "ga", 6)
                .device("b", "gb", 6));
        assertEquals(ga.id(), fx.iommu.group("a").id(), "the same group");
        assertFalse(fx.dto(ga).blocked);
        assertEquals(fx.dto(ga).defaultDomainId, fx.dto(ga).domainId);
        assertEquals(DomainType.DMA_FQ, again.domainOf("a").type);
        assertEquals(fx.dto(gb).blockingDomainId, fx.dto(gb).domainId);
        assertEquals(DomainType.BLOCKED, again.domainOf("b").type);
        fx.iommu.releaseGroup(gb);
        assertEquals(fx.dto(gb).defaultDomainId, fx.dto(gb).domainId);
    }

    @Test
    @DisplayName("an updated device list adds devices and releases the ones gone, with their PASIDs")
    void deviceListUpdate() {
        TestBackend be = fx.bind(new TestBackend("smmu0", 64).device("a", "ga", 6)
                .device("b", "gb", 6));
        IoasidHandle p = fx.iommu.allocGlobalPasid("b");
        fx.iommu.attachDevicePasid(fx.iommu.domainAlloc("b", false), "b", p);
        be.devices.removeIf(d -> d.name().equals("b"));
        be.device("c", "gc", 6);
        fx.update(be);
        fx.unchanged(ENODEV, () -> fx.iommu.group("b"));
        assertEquals("smmu0", fx.iommu.group("c").backend());
        assertEquals(1, p.refCount(), "the PASID was detached with its device");
        assertTrue(fx.events.contains("UNBIND " + p.id()));
        assertEquals(2, fx.iommu.groups().length);
    }

    @Test
    @DisplayName("a backend whose configuration was refused is listed FAILED with the reason, "
            + "not probed, and serves once its configuration is mended")
    void failedBackend() {
        TestBackend be = new TestBackend("dmar9", 64).device("a", "ga", 6);
        be.failure = "pss=99 is not in [0, 19]";
        fx.bind(be);
        BackendDTO d = fx.iommu.backends()[0];
        assertEquals("FAILED", d.state);
        assertEquals("pss=99 is not in [0, 19]", d.problem);
        assertEquals(0, d.devices.length);
        assertEquals(0, fx.iommu.groups().length, "nothing probed");
        fx.unchanged(ENODEV, () -> fx.iommu.group("a"));
        assertEquals(List.of(), be.violations, "nothing but failure() was called");

        be.failure = null;
        fx.update(be);
        d = fx.iommu.backends()[0];
        assertEquals("ACTIVE", d.state);
        assertEquals(null, d.problem);
        assertEquals("dmar9", fx.iommu.group("a").backend());

        be.refused = "device x: RID 00:05.0 used twice";
        fx.update(be);
        d = fx.iommu.backends()[0];
        assertEquals("ACTIVE", d.state, "a refused change leaves it serving");
        assertEquals("device x: RID 00:05.0 used twice", d.problem);
        assertEquals("dmar9", fx.iommu.group("a").backend());
    }

    @Test
    @DisplayName("a device moving to another group key leaves the old group and joins the new one")
    void regroup() {
        TestBackend be = fx.bind(new TestBackend("smmu0", 64).device("a", "g1", 6)
                .device("b", "g1", 6));
        IommuGroup g1 = fx.iommu.group("a");
        be.devices.clear();
        be.device("a", "g1", 6).device("b", "g2", 6);
        fx.update(be);
        assertEquals(List.of("a"), g1.devices());
        assertEquals(List.of("b"), fx.iommu.group("b").devices());
    }

    @Test
    @DisplayName("command logs come from the backend; unknown backends are ENODEV")
    void commandLog() {
        fx.bind(new TestBackend("smmu0", 64).device("a", "ga", 6));
        String[] log = fx.iommu.commandLog("smmu0", 2);
        assertEquals(2, log.length);
        assertTrue(log[1].startsWith("attach a"), Arrays.toString(log));
        fx.unchanged(ENODEV, () -> fx.iommu.commandLog("nope", 2));
        fx.unchanged(ioasid.api.Errno.EINVAL, () -> fx.iommu.commandLog("smmu0", -1));
    }

    @Test
    @DisplayName("backendCount follows the backends taken in: a name taken is not counted, a name "
            + "freed by a departure can be taken again")
    void backendCount() {
        assertEquals(0, fx.iommu.backendCount());
        TestBackend smmu = fx.bind(new TestBackend("smmu0", 64).device("a", "a", 6));
        fx.bind(new TestBackend("dmar0", 64).device("b", "b", 6));
        fx.bind(new TestBackend("smmu0", 64).device("q", "q", 0)); // name taken: ignored
        assertEquals(2, fx.iommu.backendCount());
        assertEquals(fx.iommu.backends().length, fx.iommu.backendCount());
        fx.unbind(smmu);
        assertEquals(1, fx.iommu.backendCount());
        fx.bind(new TestBackend("smmu0", 64).device("q", "q", 0)); // the name is free again
        assertEquals(2, fx.iommu.backendCount());
        assertEquals("smmu0", fx.iommu.group("q").backend());
    }

    @Test
    @DisplayName("closing the core lets every backend go as if it left")
    void close() {
        TestBackend be = fx.bind(new TestBackend("smmu0", 64).device("a", "ga", 6));
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.close();
        assertFalse(d.live());
        assertEquals(0, fx.iommu.backends().length);
        fx.bind(be); // refused after close
        assertEquals(0, fx.iommu.backends().length);
    }
}
