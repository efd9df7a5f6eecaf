package ioasid.backend.virtio.impl;

import static ioasid.backend.virtio.impl.VirtioFixture.GPU;
import static ioasid.backend.virtio.impl.VirtioFixture.GPU_SID;
import static ioasid.backend.virtio.impl.VirtioFixture.MSI;
import static ioasid.backend.virtio.impl.VirtioFixture.NIC;
import static ioasid.backend.virtio.impl.VirtioFixture.RW;
import static ioasid.backend.virtio.impl.VirtioFixture.assertBypass;
import static ioasid.backend.virtio.impl.VirtioFixture.assertFault;
import static ioasid.backend.virtio.impl.VirtioFixture.paging;
import static ioasid.backend.virtio.impl.VirtioFixture.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.annotation.Annotation;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.spi.BackendConfigurations;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.testkit.Expect;

/** Configuration space, features, probing, capabilities and live reconfiguration. */
class ConfigTest {

    /** A configuration as Config Admin would hand it over, with QEMU's defaults. */
    static class Cfg implements VirtioIommuBackend.Config {
        String name = "viommu1";
        String[] devices = {VirtioFixture.GPU_SPEC, VirtioFixture.NIC_SPEC};
        String mask = "0x40201000";
        String input = "0x0-0xffffffffff";
        String domains = "1-0xffff";
        String[] features = {"input_range", "DOMAIN_RANGE", "MAP_UNMAP", "PROBE", "MMIO",
            "BYPASS_CONFIG"};
        String[] resv = {"msi:0xfee00000-0xfeefffff", "reserved:0x0-0xfff", " "};
        String pasid = "none";

        @Override
        public Class<? extends Annotation> annotationType() {
            return VirtioIommuBackend.Config.class;
        }

        @Override
        public String ioasid_iommu_name() {
            return name;
        }

        @Override
        public String[] devices() {
            return devices;
        }

        @Override
        public String page_size_mask() {
            return mask;
        }

        @Override
        public String input_range() {
            return input;
        }

        @Override
        public String domain_range() {
            return domains;
        }

        @Override
        public String[] features() {
            return features;
        }

        @Override
        public boolean boot_bypass() {
            return false;
        }

        @Override
        public String[] reserved_regions() {
            return resv;
        }

        @Override
        public int probe_size() {
            return 512;
        }

        @Override
        public boolean qemu_attach_order() {
            return false;
        }

        @Override
        public String pasid_allocator() {
            return pasid;
        }

        @Override
        public String pasid_channel() {
            return "ch";
        }

        @Override
        public String pasid_vm_token() {
            return "vm-7";
        }

        @Override
        public int pasid_vm_quota() {
            return 64;
        }

        @Override
        public int pasid_allocator_ranking() {
            return 5;
        }

        @Override
        public String host_target() {
            return VirtioIommuBackend.DEFAULT_HOST_TARGET;
        }
    }

    @Test
    @DisplayName("S17 config: page_size_mask, input_range and domain_range become the caps and the "
            + "domains' page sizes, aperture and IDs")
    void configurationParsed() {
        VirtioIommuParams p = VirtioIommuParams.from(new Cfg());
        assertEquals("viommu1", p.name);
        assertEquals(0x4020_1000L, p.pageSizeMask);
        assertEquals(0xff_ffff_ffffL, p.inputEnd);
        assertEquals(1, p.domainStart);
        assertEquals(Feature.QEMU_DEVICE, p.features);
        assertEquals(List.of(new ResvRegion(ResvRegion.MSI, MSI, 0xfeef_ffffL),
                new ResvRegion(ResvRegion.RESERVED, 0, 0xfff)), p.reservedRegions);
        assertEquals(List.of(new DeviceInfo(GPU, GPU, 0x18, 0), new DeviceInfo(NIC, NIC, 0x20, 0)),
                p.devices);
        assertEquals("ch", p.pasidChannel);
        assertEquals(5, p.allocatorRanking);
        VirtioIommuBackend b = VirtioFixture.backend(p);
        assertEquals("virtio", b.caps().vendor());
        assertEquals(0x4020_1000L, b.caps().pgsizeBitmap());
        assertEquals(40, b.caps().iasBits());
        assertEquals(0, b.caps().maxPasids());
        assertEquals(EnumSet.of(DomainType.BLOCKED, DomainType.IDENTITY, DomainType.UNMANAGED,
                DomainType.DMA, DomainType.DMA_FQ), b.caps().domainTypes());
        assertTrue(b.caps().defaultDomains());
        VirtioIommuDomain d = paging(b);
        assertEquals(0x4020_1000L, d.pgsizeBitmap());
        assertEquals(0xff_ffff_ffffL, d.apertureEnd());
        b.attachDev(GPU, d);
        assertEquals(1, d.domainId(), "domain_range starts at 1");
    }

    @Test
    @DisplayName("decision D2: bad configuration entries are refused with what is wrong")
    void badConfiguration() {
        Cfg c = new Cfg();
        c.features = new String[] {"MAP_UNMAP", "ATTACH_TABLE"};
        assertThrows(IllegalArgumentException.class, () -> VirtioIommuParams.from(c));
        Cfg r = new Cfg();
        r.resv = new String[] {"doorbell:0x0-0x10"};
        assertThrows(IllegalArgumentException.class, () -> VirtioIommuParams.from(r));
        Cfg dup = new Cfg();
        dup.devices = new String[] {GPU + ";sid=1", NIC + ";sid=1"};
        assertThrows(IllegalArgumentException.class, () -> VirtioIommuParams.from(dup));
        Cfg big = new Cfg();
        big.devices = new String[] {GPU + ";sid=0x100000000"};
        assertThrows(IllegalArgumentException.class, () -> VirtioIommuParams.from(big));
        Cfg range = new Cfg();
        range.domains = "9-8";
        assertThrows(IllegalArgumentException.class, () -> VirtioIommuParams.from(range));
        Cfg mode = new Cfg();
        mode.pasid = "vcmd";
        assertThrows(IllegalArgumentException.class, () -> VirtioIommuParams.from(mode));
    }

    @Test
    @DisplayName("S17 features: the driver negotiates Linux's table; without MAP_UNMAP it refuses "
            + "the device (ENODEV), with an empty page_size_mask EINVAL")
    void featureNegotiation() {
        VirtioIommuBackend b = VirtioFixture.backend(VirtioFixture.params().features(
                Feature.QEMU_DEVICE | Feature.BYPASS.mask()));
        assertEquals(Feature.QEMU_DEVICE, b.driver().negotiatedFeatures(),
                "BYPASS is not in the table");
        Expect.errno(Errno.ENODEV, () -> VirtioFixture.backend(VirtioFixture.params().features(
                Feature.QEMU_DEVICE & ~Feature.MAP_UNMAP.mask())));
        Expect.errno(Errno.EINVAL, () -> VirtioFixture.backend(VirtioFixture.params().pageSizeMask(0)));
        assertEquals(List.of("INPUT_RANGE", "MAP_UNMAP"), Feature.names(
                Feature.INPUT_RANGE.mask() | Feature.MAP_UNMAP.mask()));
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6), java.util.Arrays.stream(Feature.values())
                .map(f -> f.bit).toList());
    }

    @Test
    @DisplayName("S17: without INPUT_RANGE and DOMAIN_RANGE the driver assumes a 64-bit aperture "
            + "and 32-bit domain IDs from 0, and the device checks neither range")
    void withoutRangeFeatures() {
        VirtioIommuBackend b = VirtioFixture.backend(VirtioFixture.params().domainRange(10, 20)
                .features(Feature.MAP_UNMAP.mask() | Feature.PROBE.mask()));
        assertEquals(64, b.caps().iasBits());
        VirtioIommuDomain d = paging(b);
        assertEquals(-1L, d.apertureEnd());
        b.attachDev(GPU, d);
        assertEquals(0, d.domainId(), "the device does not check a range it did not advertise");
        d.mapPages(1L << 60, 0x1000, 0x1000, 1, RW);
        assertEquals(0x1000, VirtioFixture.read(b, GPU, 1L << 60).physAddr());
        VirtioIommuBackend ranged = VirtioFixture.backend(VirtioFixture.params().inputRange(0, 0xffff_ffffL));
        VirtioIommuDomain r = paging(ranged);
        ranged.attachDev(GPU, r);
        assertEquals(0xffff_ffffL, r.apertureEnd());
        assertEquals(32, ranged.caps().iasBits());
        VirtioFixture.unchanged(ranged, Errno.EINVAL, () -> r.mapPages(1L << 32, 0, 0x1000, 1, RW), r);
    }

    @Test
    @DisplayName("S17: without PROBE the driver never learns the reserved regions: it maps into "
            + "them, and the device still applies them")
    void withoutProbe() {
        VirtioIommuParams p = VirtioFixture.params().features(Feature.QEMU_DEVICE & ~Feature.PROBE.mask())
                .reservedRegions(new ResvRegion(ResvRegion.MSI, MSI, 0xfeef_ffffL),
                        new ResvRegion(ResvRegion.RESERVED, 0x10_0000, 0x10_ffff));
        VirtioIommuBackend b = VirtioFixture.backend(p);
        assertEquals(List.of(), b.commandLog(), "no PROBE sent");
        assertEquals(List.of(), b.driver().reservedRegions(GPU));
        VirtioIommuDomain d = paging(b);
        b.attachDev(GPU, d);
        d.mapPages(0x10_0000, 0x80000, 0x1000, 1, RW);
        d.mapPages(MSI, 0x90000, 0x1000, 1, RW);
        assertFault(write(b, GPU, 0x10_0000), "RESERVED");
        assertBypass(write(b, GPU, MSI));
    }

    @Test
    @DisplayName("S17: an endpoint whose PROBE fails is not offered to the core")
    void failedProbe() {
        VirtioIommuParams p = VirtioFixture.params().reservedRegions(
                new ResvRegion(ResvRegion.MSI, MSI, 0xfeef_ffffL),
                new ResvRegion(ResvRegion.RESERVED, 0, 0xfff)).probeSize(24);
        VirtioIommuBackend b = VirtioFixture.backend(p);
        assertEquals(List.of(), b.devices());
        assertEquals("PROBE endpoint=0x18 : INVAL", b.commandLog().get(0));
        Expect.errno(Errno.ENODEV, () -> b.attachDev(GPU, paging(b)));
    }

    @Test
    @DisplayName("@Modified: a changed endpoint list applies live (removed ones detached, new ones "
            + "probed); other changes wait for a restart")
    void modifiedDevices() {
        VirtioIommuBackend b = VirtioFixture.backend(VirtioIommuParams.defaults("viommu0")
                .devices(VirtioFixture.GPU_SPEC, VirtioFixture.NIC_SPEC));
        VirtioIommuDomain d = paging(b);
        b.attachDev(GPU, d);
        b.attachDev(NIC, d);
        d.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        int n = b.commandLog().size();
        b.reconfigure(b.driver().params().devices(VirtioFixture.NIC_SPEC, VirtioFixture.SSD_SPEC)
                .pageSizeMask(0x3000));
        assertEquals(List.of("DETACH domain=0 endpoint=0x18 : OK",
                "PROBE endpoint=0x28 : OK resv_mem msi [0xfee00000,0xfeefffff]"),
                VirtioFixture.since(b, n));
        assertEquals(List.of(VirtioFixture.NIC, VirtioFixture.SSD), b.devices().stream()
                .map(DeviceInfo::name).toList());
        assertEquals(0x1000, b.caps().pgsizeBitmap(), "hardware changes wait for a restart");
        assertEquals(0x1000, b.driver().params().pageSizeMask);
        assertEquals(1, b.driver().endpointCount(d));
        assertFalse(b.driver().device().knowsEndpoint(GPU_SID), "the endpoint left the bus");
        Expect.errno(Errno.ENODEV, () -> VirtioFixture.read(b, GPU, 0));
        b.attachDev(VirtioFixture.SSD, d);
        assertEquals(0x80000, VirtioFixture.read(b, VirtioFixture.SSD, 0x1000).physAddr());
    }

    @Test
    @DisplayName("@Modified: an endpoint whose stream ID changed is released and probed again")
    void modifiedStreamId() {
        VirtioIommuBackend b = VirtioFixture.backend(VirtioIommuParams.defaults("viommu0")
                .devices(VirtioFixture.GPU_SPEC));
        VirtioIommuDomain d = paging(b);
        b.attachDev(GPU, d);
        b.reconfigure(b.driver().params().devices(GPU + ";sid=0x30"));
        assertNull(b.driver().attachedDomain(GPU));
        assertEquals(0x30, b.devices().get(0).streamId());
        b.attachDev(GPU, d);
        assertEquals(0, b.driver().device().endpointDomain(0x30));
    }

    @Test
    @DisplayName("decision D16/style 6: DS activation builds the instance from its factory "
            + "configuration and registers the allocator (ranking, name); @Modified applies the "
            + "device list; deactivate unregisters it and releases the shared channel")
    void dsLifecycle() {
        List<Object[]> registered = new java.util.ArrayList<>();
        boolean[] unregistered = {false};
        org.osgi.framework.ServiceRegistration<?> reg = proxy(
                org.osgi.framework.ServiceRegistration.class, (m, a) -> {
                    if (m.equals("unregister")) {
                        unregistered[0] = true;
                    }
                    return null;
                });
        org.osgi.framework.BundleContext ctx = proxy(org.osgi.framework.BundleContext.class,
                (m, a) -> {
                    if (m.equals("registerService")) {
                        registered.add(a);
                        return reg;
                    }
                    throw new UnsupportedOperationException(m);
                });
        Cfg c = new Cfg();
        c.pasid = "host-shared";
        c.name = "viommu-ds-" + System.nanoTime();
        VirtioIommuBackend b = new VirtioIommuBackend(c, ctx);
        assertEquals(1, registered.size());
        assertEquals(ioasid.api.spi.IoasidAllocator.class, registered.get(0)[0]);
        assertSame(b.pasidAllocator(), registered.get(0)[1]);
        java.util.Dictionary<?, ?> props = (java.util.Dictionary<?, ?>) registered.get(0)[2];
        assertEquals(5, props.get(org.osgi.framework.Constants.SERVICE_RANKING));
        assertEquals("virtio-iommu " + c.name, props.get(ioasid.api.spi.IoasidAllocator.NAME));
        assertEquals(1, HostChannels.SHARED.users("ch"));
        Cfg changed = new Cfg();
        changed.name = c.name;
        changed.pasid = c.pasid;
        changed.devices = new String[] {VirtioFixture.NIC_SPEC};
        b.modified(changed, Map.of());
        assertEquals(List.of(NIC), b.devices().stream().map(DeviceInfo::name).toList());
        b.deactivate();
        assertTrue(unregistered[0]);
        assertEquals(0, HostChannels.SHARED.users("ch"));
        Expect.errno(Errno.ENODEV, () -> b.domainAlloc(DomainType.DMA, false));
    }

    @Test
    @DisplayName("a refused configuration leaves the instance FAILED with its reason, not a "
            + "failed activation; every call is ENODEV; a mended configuration starts it")
    void failedInstance() {
        Cfg bad = new Cfg();
        bad.name = "viommu-bad-" + System.nanoTime();
        bad.domains = "9-8";
        VirtioIommuBackend b = new VirtioIommuBackend(bad, null, Map.of());
        assertEquals("domain range [9, 8] is not a 32-bit range", b.failure());
        Expect.errno(Errno.ENODEV, b::devices);
        VirtioIommuBackend checked = new VirtioIommuBackend(new Cfg(), null,
                Map.of(BackendConfigurations.PROBLEM, "pasid.vm.quota=-1 is below its minimum 0"));
        assertEquals("pasid.vm.quota=-1 is below its minimum 0", checked.failure());
        Cfg good = new Cfg();
        good.name = bad.name;
        b.modified(good, Map.of());
        assertEquals(null, b.failure());
        assertEquals(2, b.devices().size());
        b.deactivate();
    }

    private static void assertSame(Object expected, Object actual) {
        org.junit.jupiter.api.Assertions.assertSame(expected, actual);
    }

    @SuppressWarnings("unchecked")
    private static <T> T proxy(Class<T> type,
            java.util.function.BiFunction<String, Object[], Object> handler) {
        return (T) java.lang.reflect.Proxy.newProxyInstance(type.getClassLoader(),
                new Class<?>[] {type}, (p, m, a) -> {
                    if (m.getDeclaringClass() == Object.class) {
                        return m.getName().equals("equals") ? p == a[0]
                                : m.getName().equals("hashCode") ? System.identityHashCode(p)
                                        : type.getSimpleName();
                    }
                    return handler.apply(m.getName(), a);
                });
    }
}
