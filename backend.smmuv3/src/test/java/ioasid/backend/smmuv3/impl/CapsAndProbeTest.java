package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.DISK;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.GPU;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.NIC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import ioasid.api.Errno;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.spi.BackendConfigurations;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.Walk;
import ioasid.testkit.Expect;

/** ID registers as configuration, probing, the stream table layout. */
class CapsAndProbeTest {

    @ParameterizedTest(name = "SSIDSIZE {0}")
    @ValueSource(ints = {1, 5, 8, 16, 20})
    @DisplayName("known bug 10: maxPasids is 1 << SSIDSIZE, not SSIDSIZE")
    void maxPasidsIsPowerOfTwo(int bits) {
        Smmuv3Fixture fx = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withSsidBits(bits));
        assertEquals(1 << bits, fx.b.caps().maxPasids());
    }

    @Test
    @DisplayName("section 2 SMMUv3: SSIDSIZE 0 means no substreams, reported as 0 PASIDs")
    void noSubstreams() {
        Smmuv3Fixture fx = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withSsidBits(0));
        assertEquals(0, fx.b.caps().maxPasids());
        assertEquals(0, fx.master(GPU).ssidBits);
        Expect.errno(Errno.EOPNOTSUPP, () -> fx.b.svaDomainAlloc(new Smmuv3Fixture.Mm(3)));
    }

    @Test
    @DisplayName("rule 57: caps give 4K|2M|1G pages, IAS/OAS, nesting, every non-SVA type")
    void caps() {
        Smmuv3Fixture fx = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withAddressBits(44, 40).withNesting(false));
        IommuCaps caps = fx.b.caps();
        assertEquals("smmuv3", caps.vendor());
        assertEquals((1L << 12) | (1L << 21) | (1L << 30), caps.pgsizeBitmap());
        assertEquals(44, caps.iasBits());
        assertEquals(40, caps.oasBits());
        assertFalse(caps.nesting());
        assertTrue(caps.defaultDomains());
        for (DomainType t : List.of(DomainType.BLOCKED, DomainType.IDENTITY,
                DomainType.UNMANAGED, DomainType.DMA, DomainType.DMA_FQ)) {
            assertTrue(caps.supports(t), t.name());
        }
        assertFalse(caps.supports(DomainType.SVA));
        Smmuv3Domain d = fx.paging();
        assertEquals((1L << 44) - 1, d.apertureEnd());
        assertEquals(caps.pgsizeBitmap(), d.pgsizeBitmap());
    }

    @Test
    @DisplayName("section 2 SMMUv3: a master gets min(SSIDSIZE, its PASID bits) SSID bits, "
            + "at most 10 without CD2L")
    void masterSsidBits() {
        Smmuv3Fixture fx = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withSsidBits(8));
        assertEquals(8, fx.master(GPU).ssidBits);
        assertEquals(5, fx.master(NIC).ssidBits);
        assertEquals(0, fx.master(DISK).ssidBits);
        Smmuv3Fixture noCd2l = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withCd2l(false));
        assertEquals(Cd.LINEAR_CDMAX, noCd2l.master(GPU).ssidBits);
    }

    @Test
    @DisplayName("D16: devices come from the configuration in DeviceInfo.parse form, in order")
    void devicesFromConfig() {
        Smmuv3Fixture fx = new Smmuv3Fixture(Smmuv3Params.DEFAULTS, "a;group=g", "b;group=g;pasid=8",
                "c;sid=0x40");
        List<DeviceInfo> devs = fx.b.devices();
        assertEquals(3, devs.size());
        assertEquals(new DeviceInfo("a", "g", 0, 0), devs.get(0));
        assertEquals(new DeviceInfo("b", "g", 1, 8), devs.get(1)); // sid defaults to the position
        assertEquals(0x40, devs.get(2).streamId());
    }

    @Test
    @DisplayName("section 2 SMMUv3: duplicate names or StreamIDs and SIDs past SIDSIZE are "
            + "rejected")
    void badDeviceLists() {
        Smmuv3Params hw = Smmuv3Params.DEFAULTS.withSidBits(8);
        assertThrows(IllegalArgumentException.class,
                () -> new Smmuv3Backend("s", List.of("a;sid=1", "b;sid=1"), hw));
        assertThrows(IllegalArgumentException.class,
                () -> new Smmuv3Backend("s", List.of("a;sid=1", "a;sid=2"), hw));
        assertThrows(IllegalArgumentException.class,
                () -> new Smmuv3Backend("s", List.of("a;sid=0x100"), hw));
        assertThrows(IllegalArgumentException.class,
                () -> new Smmuv3Backend("s", List.of("a;colour=red"), hw));
        assertThrows(IllegalArgumentException.class, () -> new Smmuv3Backend("s", List.of(),
                Smmuv3Params.DEFAULTS.withAddressBits(48, 47)));
        assertThrows(IllegalArgumentException.class, () -> new Smmuv3Backend("s", List.of(),
                Smmuv3Params.DEFAULTS.withSsidBits(21)));
    }

    @Test
    @DisplayName("section 2 SMMUv3: SIDSIZE above 8 gives a two-level stream table whose spans "
            + "are allocated per probed device and filled with abort STEs")
    void twoLevelStreamTable() {
        Smmuv3Fixture fx = new Smmuv3Fixture();
        Smmu hw = fx.smmu;
        assertTrue(hw.twoLevelStrtab());
        // sids 0x10, 0x11 and 0x20 share span 0: one L1 descriptor, Span 9 (256 STEs).
        long l1 = hw.mem.read(hw.strtabBase());
        assertEquals(Ste.SPLIT + 1, Bits.get(l1, 4, 0));
        long l2 = l1 & Ste.L1_L2PTR_MASK;
        assertEquals(l2 + 0x10 * Ste.BYTES, hw.steAddress(0x10));
        assertEquals(0, hw.mem.read(hw.strtabBase() + 8)); // span 1 never allocated
        assertEquals(-1, hw.steAddress(0x100));
        assertEquals(Ste.CFG_ABORT, Ste.config(fx.ste(GPU)));
        // An unprobed SID in the allocated span aborts; one in no span is a bad StreamID.
        assertEquals(Smmu.STE_ABORT, ((Walk) hw.translate(0x33, 0, 0, false)).fault());
        assertEquals(Smmu.C_BAD_STREAMID, ((Walk) hw.translate(0x1234, 0, 0, false)).fault());
        assertEquals(Smmu.C_BAD_STREAMID, ((Walk) hw.translate(1L << 16, 0, 0, false)).fault());
    }

    @Test
    @DisplayName("section 2 SMMUv3: SIDSIZE up to 8 gives a linear stream table of abort STEs")
    void linearStreamTable() {
        Smmuv3Fixture fx = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withSidBits(6));
        Smmu hw = fx.smmu;
        assertFalse(hw.twoLevelStrtab());
        assertEquals(hw.strtabBase() + 0x20 * Ste.BYTES, hw.steAddress(0x20));
        assertEquals(-1, hw.steAddress(64));
        assertEquals(Smmu.STE_ABORT, ((Walk) hw.translate(63, 0, 0, false)).fault());
    }

    @Test
    @DisplayName("D18: a probed device starts on an abort STE, DMA is refused without an event")
    void probedDeviceAborts() {
        Smmuv3Fixture fx = new Smmuv3Fixture();
        Walk w = fx.read(GPU, 0x1000);
        assertEquals(Translation.Outcome.FAULT, w.outcome());
        assertEquals(Smmu.STE_ABORT, w.fault());
        assertNull(w.domain());
        assertEquals(List.of(), fx.b.commandLog());
    }

    @Test
    @DisplayName("D17: a device dropped from the configuration is released: PASIDs cleared, "
            + "abort STE, CD table freed, then ENODEV; a new one is probed")
    void modifiedDeviceList() {
        Smmuv3Fixture fx = new Smmuv3Fixture();
        Smmuv3Domain d = fx.attachedPaging(GPU);
        Smmuv3Domain p = fx.paging();
        fx.b.setDevPasid(GPU, 7, p);
        long used = fx.smmu.mem.used();
        long m = fx.mark();
        fx.b.modified(config(NIC + ";sid=0x11;pasid=5", "new;sid=0x30"), Map.of());
        assertEquals(List.of(NIC, "new"), fx.b.devices().stream().map(DeviceInfo::name).toList());
        assertEquals(List.of("CFGI_CD sid=0x10 ssid=7 leaf=1", "CMD_SYNC",
                "CFGI_STE sid=0x10 leaf=1", "CMD_SYNC",
                "CFGI_CD sid=0x10 ssid=0 leaf=1", "CMD_SYNC"), fx.cmds(m));
        assertEquals(Smmu.STE_ABORT, ((Walk) fx.smmu.translate(0x10, 0, 0, false)).fault());
        assertTrue(fx.smmu.mem.used() < used, "the CD table went back");
        assertTrue(d.attachments.isEmpty());
        assertTrue(p.attachments.isEmpty());
        Expect.errno(Errno.ENODEV, () -> fx.b.attachDev(GPU, d));
        fx.b.attachDev("new", d);
        assertSame(d, fx.read("new", 0).domain());
    }

    @Test
    @DisplayName("decision D2: changed hardware parameters are kept until restart, a bad device "
            + "list keeps the old one")
    void modifiedHardwareKept() {
        Smmuv3Fixture fx = new Smmuv3Fixture();
        fx.b.modified(config(new String[] {"x;sid=1"}, 5), Map.of());
        assertEquals(1 << 16, fx.b.caps().maxPasids());
        assertEquals(List.of("x"), fx.b.devices().stream().map(DeviceInfo::name).toList());
        fx.b.modified(config("y;sid=1", "z;sid=1"), Map.of());
        assertEquals(List.of("x"), fx.b.devices().stream().map(DeviceInfo::name).toList());
    }

    @Test
    @DisplayName("a refused configuration leaves the SMMU FAILED with its reason, not a failed "
            + "activation; every call is ENODEV; a mended configuration starts it")
    void failedInstance() {
        Smmuv3Backend b = new Smmuv3Backend(config("y;sid=1", "z;sid=1"), Map.of());
        assertEquals("StreamID 0x1 of z already taken (arm_smmu_insert_master: EEXIST)",
                b.failure());
        Expect.errno(Errno.ENODEV, b::devices);
        Smmuv3Backend checked = new Smmuv3Backend(config("x;sid=1"),
                Map.of(BackendConfigurations.PROBLEM, "ssid.bits=99 is not in [0, 20]"));
        assertEquals("ssid.bits=99 is not in [0, 20]", checked.failure());
        b.modified(config("y;sid=1", "z;sid=2"), Map.of());
        assertEquals(null, b.failure());
        assertEquals(List.of("y", "z"), b.devices().stream().map(DeviceInfo::name).toList());
        b.modified(config("y;sid=1", "w;sid=1"), Map.of());
        assertTrue(b.refusedChange() != null, "a refused change is kept as the reason");
        assertEquals(List.of("y", "z"), b.devices().stream().map(DeviceInfo::name).toList());
        b.deactivate();
    }

    @Test
    @DisplayName("D17: after deactivation every call is ENODEV")
    void deactivated() {
        Smmuv3Fixture fx = new Smmuv3Fixture();
        fx.b.deactivate();
        Expect.errno(Errno.ENODEV, () -> fx.b.domainAlloc(DomainType.IDENTITY, false));
        Expect.errno(Errno.ENODEV, () -> fx.read(GPU, 0));
    }

    static Smmuv3Backend.Config config(String... devices) {
        return config(devices, 16);
    }

    static Smmuv3Backend.Config config(String[] devices, int ssidBits) {
        return new Smmuv3Backend.Config() {
            @Override
            public Class<? extends java.lang.annotation.Annotation> annotationType() {
                return Smmuv3Backend.Config.class;
            }

            @Override
            public String ioasid_iommu_name() {
                return "smmu0";
            }

            @Override
            public String[] devices() {
                return devices;
            }

            @Override
            public int ssid_bits() {
                return ssidBits;
            }

            @Override
            public int sid_bits() {
                return 16;
            }

            @Override
            public boolean cd2l() {
                return true;
            }

            @Override
            public boolean asid16() {
                return true;
            }

            @Override
            public boolean vmid16() {
                return true;
            }

            @Override
            public int ias() {
                return 48;
            }

            @Override
            public int oas() {
                return 48;
            }

            @Override
            public boolean nesting() {
                return true;
            }

            @Override
            public boolean sva() {
                return true;
            }

            @Override
            public long table_memory_kib() {
                return 65536;
            }

            @Override
            public int command_log_size() {
                return 4096;
            }
        };
    }
}
