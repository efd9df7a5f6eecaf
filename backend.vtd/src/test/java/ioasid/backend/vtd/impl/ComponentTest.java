package ioasid.backend.vtd.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.spi.BackendConfigurations;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.spi.IoasidAllocator;
import ioasid.testkit.ComponentConfig;
import ioasid.testkit.Expect;

/** The DS component: configuration, live device changes, the allocator service's lifetime. */
class ComponentTest {
    private static final String GPU = "0000:00:04.0";
    private static final String NIC = "0000:00:05.0";

    /** A configuration as DS would hand it over: defaults, with some attributes set. */
    static VtdBackend.Config config(Object... kv) {
        Map<String, Object> set = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            set.put((String) kv[i], kv[i + 1]);
        }
        return ComponentConfig.of(VtdBackend.Config.class, set);
    }

    /** Records what is registered through it, as a framework would. */
    static final class Registry {
        final List<Object> services = new ArrayList<>();
        final List<Dictionary<String, ?>> properties = new ArrayList<>();
        final List<Object> unregistered = new ArrayList<>();

        BundleContext context() {
            return (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {BundleContext.class}, (proxy, m, args) -> {
                        if (m.getName().equals("registerService")) {
                            Object service = args[1];
                            services.add(service);
                            @SuppressWarnings("unchecked")
                            Dictionary<String, ?> props = (Dictionary<String, ?>) args[2];
                            properties.add(props);
                            return registration(service);
                        }
                        throw new UnsupportedOperationException(m.getName());
                    });
        }

        private ServiceRegistration<?> registration(Object service) {
            return (ServiceRegistration<?>) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {ServiceRegistration.class}, (proxy, m, args) -> {
                        if (m.getName().equals("unregister")) {
                            unregistered.add(service);
                            return null;
                        }
                        throw new UnsupportedOperationException(m.getName());
                    });
        }
    }

    @Test
    @DisplayName("D16: a factory configuration builds one unit; devices parse with their RID as "
            + "StreamID, without sid they get 00:01.0, 00:02.0, ...; bad entries are EINVAL")
    void configuration() {
        VtdBackend b = new VtdBackend(null, config("ioasid_iommu_name", "dmar7", "devices",
                new String[] {"0000:03:1f.2;pasid=20", "0000:00:05.0;sid=0x0128;group=g",
                    "accel", "vf;pasid=8"}, "pss", 7, "caching_mode", true), null);
        assertEquals("dmar7", b.driver().name());
        List<DeviceInfo> devs = b.devices();
        assertEquals(0x03fa, devs.get(0).streamId(), "bus 3, device 0x1f, function 2");
        assertEquals(20, devs.get(0).pasidBits());
        assertEquals(0x128, devs.get(1).streamId(), "an explicit sid wins");
        assertEquals("g", devs.get(1).groupKey());
        assertEquals(0x18, devs.get(2).streamId(), "no PCI address: 00:03.0 by position");
        assertEquals(0x20, devs.get(3).streamId());
        assertEquals(256, b.caps().maxPasids());
        assertTrue(b.driver().unit().cachingMode());
        assertNull(b.guestAllocator(), "no virtual commands configured");
        Expect.errno(Errno.EINVAL, () -> new VtdBackend(null, config("devices",
                new String[] {"a;sid=0x10", "b;sid=0x10"}), null));
        Expect.errno(Errno.EINVAL, () -> new VtdBackend(null, config("devices",
                new String[] {"a;sid=0x10000"}), null));
        Expect.errno(Errno.EINVAL, () -> new VtdBackend(null, config("devices",
                new String[] {"a;colour=blue"}), null));
        Expect.errno(Errno.EINVAL, () -> new VtdBackend(null, config("pss", 25), null));
    }

    @Test
    @DisplayName("a refused configuration leaves the unit FAILED with its reason, not a failed "
            + "activation; every call is ENODEV; a mended configuration starts it")
    void failedUnit() {
        Map<String, Object> props = Map.of(BackendConfigurations.FILE,
                "file:" + System.getProperty("user.dir") + "/deploy/ioasid.backend.vtd-dmar9.config");
        VtdBackend b = new VtdBackend(null, config("ioasid_iommu_name", "dmar9", "devices",
                new String[] {"a;sid=0x10", "b;sid=0x10"}), props, null);
        assertEquals("device b: RID 00:02.0 used twice", b.failure());
        Expect.errno(Errno.ENODEV, b::devices);
        Expect.errno(Errno.ENODEV, b::caps);
        assertTrue(b.toString().contains("deploy/ioasid.backend.vtd-dmar9.config"), b.toString());

        // the checker's verdict is a refusal too, before the unit reads anything
        VtdBackend checked = new VtdBackend(null, config("ioasid_iommu_name", "dmar8"),
                Map.of(BackendConfigurations.PROBLEM, "pss=99 is not in [0, 19]"), null);
        assertEquals("pss=99 is not in [0, 19]", checked.failure());

        b.modified(config("ioasid_iommu_name", "dmar9", "devices",
                new String[] {"a;sid=0x10", "b;sid=0x11"}), props);
        assertNull(b.failure());
        assertEquals(2, b.devices().size());
        b.deactivate();
    }

    @Test
    @DisplayName("D17: after deactivation every configuration call and probe is ENODEV, and "
            + "nothing reaches the unit's tables or queue")
    void deactivated() {
        VtdBackend b = new VtdBackend(null, config("devices",
                new String[] {GPU + ";pasid=20", NIC}), null);
        VtdDomain d = (VtdDomain) b.domainAlloc(DomainType.UNMANAGED, false);
        VtdDomain other = (VtdDomain) b.domainAlloc(DomainType.UNMANAGED, false);
        b.attachDev(GPU, d);
        b.setDevPasid(GPU, 3, other);
        b.deactivate();
        String state = b.driver().stateDigest();
        Expect.errno(Errno.ENODEV, () -> b.domainAlloc(DomainType.IDENTITY, false));
        Expect.errno(Errno.ENODEV, () -> b.attachDev(NIC, d));
        Expect.errno(Errno.ENODEV, () -> b.setDevPasid(GPU, 4, d));
        Expect.errno(Errno.ENODEV, () -> b.removeDevPasid(GPU, 3, other));
        Expect.errno(Errno.ENODEV, () -> b.detachDev(GPU));
        Expect.errno(Errno.ENODEV, () -> b.viommuAlloc(d));
        Expect.errno(Errno.ENODEV, () -> b.svaDomainAlloc(new VtdFixture.Process(1)));
        Expect.errno(Errno.ENODEV, () -> b.translate(GPU, 0, 0, Access.READ));
        assertEquals(state, b.driver().stateDigest(), "a call after deactivation changed the unit");
    }

    @Test
    @DisplayName("D17: a device dropped by @Modified loses its PASID entries (rule 96 sequence), its "
            + "context entry and its tables; new hardware parameters wait for a restart")
    void modifiedDevices() {
        VtdBackend b = new VtdBackend(null, config("devices",
                new String[] {"0000:00:04.0;pasid=20", "0000:00:05.0"}), null);
        VtdDriver driver = b.driver();
        assertEquals(0x28, driver.rid(NIC));
        VtdDomain a = (VtdDomain) b.domainAlloc(DomainType.DMA, false);
        VtdDomain c = (VtdDomain) b.domainAlloc(DomainType.UNMANAGED, false);
        b.attachDev(GPU, a);
        b.attachDev(NIC, a);
        b.setDevPasid(GPU, 5, c);
        long live = driver.unit().mem.livePages();
        long m = driver.unit().queue.mark();
        b.modified(config("devices", new String[] {NIC}, "caching_mode", true), Map.of());
        assertEquals(List.of(NIC), b.devices().stream().map(DeviceInfo::name).toList());
        List<String> cmds = driver.unit().queue.since(m).stream()
                .filter(x -> x.op() != Command.Op.INV_WAIT).map(Command::toString).toList();
        assertEquals(List.of("PC_INV did=3 pasid=5 gran=PASID", "IOTLB_INV did=3 gran=DOMAIN",
                "P_DEV_TLB_INV sid=0x0020 pasid=5 pfsid=0x0020 qdep=0 addr=ALL",
                "PC_INV did=2 pasid=0 gran=PASID", "IOTLB_INV did=2 gran=DOMAIN",
                "DEV_TLB_INV sid=0x0020 pfsid=0x0020 qdep=0 addr=ALL",
                "CC_INV did=0 sid=0x0020 gran=DEVICE"), cmds);
        assertEquals(1, a.attachments.size(), "only the NIC is left on the domain");
        assertTrue(c.attachments.isEmpty());
        assertTrue(driver.unit().mem.livePages() < live - 1, "directory and PASID tables freed");
        Expect.errno(Errno.ENODEV, () -> b.translate(GPU, 0, 0, Access.READ));
        assertFalse(driver.unit().cachingMode(), "hardware parameters kept until restart");
        c.free();
        b.modified(config("devices", new String[] {NIC, GPU + ";sid=0x30;pasid=8"}), Map.of());
        assertEquals(256, driver.device(GPU).table.maxPasid(), "a new table for the new device");
        // a refused change is one line and a reason to read, never an exception to SCR
        b.modified(config("devices", new String[] {NIC, "x;sid=0x28"}), Map.of());
        assertEquals(2, b.devices().size(), "a bad list leaves the old one");
        assertEquals("device x: RID 00:05.0 used twice", b.refusedChange());
        b.modified(config("devices", new String[] {NIC}), Map.of());
        assertEquals(null, b.refusedChange(), "an accepted change clears the refusal");
    }

    @Test
    @DisplayName("rule 30: a guest vIOMMU registers its allocator service through the component's "
            + "BundleContext and withdraws it on deactivate; without a host service the VMM hands "
            + "out PASIDs from its own space")
    void allocatorServiceLifetime() {
        Registry fw = new Registry();
        VtdBackend b = new VtdBackend(fw.context(), config("caching_mode", true, "vcmd", true,
                "vcmd_vm", "vm-component-test"), null);
        assertTrue(b.allocatorRegistered());
        assertEquals(1, fw.services.size());
        IoasidAllocator a = (IoasidAllocator) fw.services.get(0);
        assertSame(b.guestAllocator(), a);
        assertEquals("VT-d VCMD allocator of dmar0", fw.properties.get(0).get(IoasidAllocator.NAME));
        int id = a.alloc(1, Ioasid.MAX_ID);
        assertEquals(1, id);
        assertEquals(1, b.vcmdHost().outstanding());
        a.free(id);
        VtdBackend second = new VtdBackend(fw.context(), config("ioasid_iommu_name", "dmar1",
                "caching_mode", true, "vcmd", true, "vcmd_vm", "vm-component-test"), null);
        assertSame(b.vcmdHost(), second.vcmdHost(), "one VMM per VM");
        b.deactivate();
        assertEquals(List.of(a), fw.unregistered);
        assertFalse(b.allocatorRegistered());
        assertEquals(1, ((IoasidAllocator) fw.services.get(1)).alloc(1, 10), "the VMM lives on");
        second.deactivate();
        VtdBackend bare = new VtdBackend(fw.context(), config(), null);
        assertFalse(bare.allocatorRegistered());
        assertEquals(2, fw.services.size());
        assertNotNull(bare.commandLog());
    }

    @Test
    @DisplayName("rule 30: with a host IOASID service bound, the VM's PASIDs are host PASIDs in a "
            + "set of the VM, sized by the configured quota, freed with the last vIOMMU")
    void hostServiceBound() {
        ioasid.core.impl.IoasidCore host = new ioasid.core.impl.IoasidCore(20, 10_000);
        try {
            VtdBackend b = new VtdBackend(new Registry().context(), config("caching_mode", true,
                    "vcmd", true, "vcmd_vm", "vm-bound", "vcmd_quota", 2), host);
            IoasidAllocator a = b.guestAllocator();
            int first = a.alloc(1, Ioasid.MAX_ID);
            int second = a.alloc(1, Ioasid.MAX_ID);
            assertEquals(Ioasid.INVALID, a.alloc(1, Ioasid.MAX_ID), "quota 2 reached");
            var set = host.findSet(ioasid.api.TokenType.NONE, "vcmd:vm-bound");
            assertEquals(2, set.size());
            assertSame(set, host.find(null, first).set());
            assertSame(set, host.find(null, second).set());
            b.deactivate();
            Expect.errno(Errno.ENOENT, () -> host.findSet(ioasid.api.TokenType.NONE, "vcmd:vm-bound"));
            assertEquals(0, host.ids(null, 10).length, "nothing of the VM left on the host");
        } finally {
            host.close();
        }
    }
}
