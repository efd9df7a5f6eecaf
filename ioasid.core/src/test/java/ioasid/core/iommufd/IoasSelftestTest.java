package ioasid.core.iommufd;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.core.iommufd.IommufdFixture.BUFFER;
import static ioasid.core.iommufd.IommufdFixture.BUFFER_SIZE;
import static ioasid.core.iommufd.IommufdFixture.MOCK_APERTURE_START;
import static ioasid.core.iommufd.IommufdFixture.MOCK_PAGE_SIZE;
import static ioasid.core.iommufd.IommufdFixture.PAGE_SIZE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import ioasid.api.iommu.dto.DomainDTO;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.iommufd.Iommufd;
import ioasid.api.iommufd.IovaRange;

/**
 * The kernel's {@code FIXTURE(iommufd_ioas)} cases (tools/testing/selftests/iommu/iommufd.c),
 * each run for the fixture's variants: {@code no_domain}, {@code mock_domain} and
 * {@code two_mock_domain}. The mock devices sit on one mock IOMMU, so the second device of
 * {@code two_mock_domain} joins the first's HWPT, as in the kernel. Each case states the
 * kernel's expected result; where the model answers otherwise a decision says why. Rules
 * 120-128.
 */
class IoasSelftestTest {
    /** {@code FIXTURE_VARIANT(iommufd_ioas)}; {@code mock_domain_limit} is not modelled. */
    enum Variant {
        NO_DOMAIN(0), MOCK_DOMAIN(1), TWO_MOCK_DOMAIN(2);

        final int mockDomains;

        Variant(int mockDomains) {
            this.mockDomains = mockDomains;
        }

        @Override
        public String toString() {
            return name().toLowerCase();
        }
    }

    private IommufdFixture fx;
    private Iommufd fd;
    private int ioasId;
    private int stdevId;
    private int hwptId;
    private int deviceId;
    private long baseIova;

    /** {@code FIXTURE_SETUP(iommufd_ioas)}. */
    private void setUp(Variant v) {
        fx = new IommufdFixture();
        fd = fx.fd;
        ioasId = fd.ioasAlloc();
        for (int i = 0; i < v.mockDomains; i++) {
            int[] dom = fx.mockDomain(ioasId);
            stdevId = dom[0];
            deviceId = dom[0];
            hwptId = dom[1];
            baseIova = MOCK_APERTURE_START;
        }
    }

    @AfterEach
    void tearDown() {
        if (fx != null) {
            fx.close();
        }
    }

    /** The kernel's teardown_iommufd: after close nothing of the context is left in the core. */
    private void assertClosedClean() {
        fd.close();
        for (DomainDTO d : fx.iommu.domains()) {
            assertFalse(d.role.equals("caller"), "caller domain left: " + d);
        }
        for (GroupDTO g : fx.iommu.groups()) {
            assertEquals(null, g.owner, "group still owned: " + g);
        }
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/ioas_auto_destroy: closing the context frees the IOAS, HWPTs and "
            + "devices (the kernel's teardown finds no leak)")
    void ioasAutoDestroy(Variant v) {
        setUp(v);
        assertClosedClean();
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/ioas_destroy: EBUSY while a device's HWPT uses the IOAS, else "
            + "destroyed (rules 120, 127)")
    void ioasDestroy(Variant v) {
        setUp(v);
        if (stdevId != 0) {
            fx.unchanged(EBUSY, () -> fd.destroy(ioasId));
        } else {
            fd.destroy(ioasId);
            assertFalse(fx.exists(ioasId));
        }
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/hwpt_attach: a device attaches to a HWPT directly; to HWPT 0 "
            + "ENOENT (rules 120, 128)")
    void hwptAttach(Variant v) {
        setUp(v);
        if (stdevId != 0) {
            int[] dom = fx.mockDomain(hwptId);
            assertEquals(hwptId, dom[1]);
        } else {
            fx.mockDomainFails(ENOENT, hwptId);
        }
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/ioas_area_destroy: an area does not change whether the IOAS can "
            + "be destroyed: EBUSY with a device, else destroyed (rule 120)")
    void ioasAreaDestroy(Variant v) {
        setUp(v);
        fx.mapFixed(ioasId, BUFFER, PAGE_SIZE, baseIova);
        if (stdevId != 0) {
            fx.unchanged(EBUSY, () -> fd.destroy(ioasId));
        } else {
            fd.destroy(ioasId);
        }
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/ioas_area_auto_destroy: an IOAS with ten areas is freed by "
            + "closing, its HWPTs emptied and freed (rule 120)")
    void ioasAreaAutoDestroy(Variant v) {
        setUp(v);
        for (int i = 0; i != 10; i++) {
            fx.mapFixed(ioasId, BUFFER, PAGE_SIZE, baseIova + i * PAGE_SIZE);
        }
        assertEquals(10, fd.ioasAreas(ioasId).length);
        assertClosedClean();
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/area: unmap of nothing ENOENT; a split ENOENT; over-maps EEXIST; "
            + "unmap-all works, also when empty (rules 121, 123)")
    void area(Variant v) {
        setUp(v);
        for (int i = 0; i != 10; i++) {
            fx.unmapFails(ENOENT, ioasId, i * PAGE_SIZE, PAGE_SIZE);
        }
        for (int i = 0; i != 10; i++) {
            fx.mapFixed(ioasId, BUFFER, PAGE_SIZE, baseIova + i * PAGE_SIZE);
        }
        for (int i = 0; i != 10; i++) {
            assertEquals(PAGE_SIZE, fd.ioasUnmap(ioasId, baseIova + i * PAGE_SIZE, PAGE_SIZE));
        }
        // split fails
        fx.mapFixed(ioasId, BUFFER, PAGE_SIZE * 2, baseIova + 16 * PAGE_SIZE);
        fx.unmapFails(ENOENT, ioasId, baseIova + 16 * PAGE_SIZE, PAGE_SIZE);
        fx.unmapFails(ENOENT, ioasId, baseIova + 17 * PAGE_SIZE, PAGE_SIZE);
        // over map fails
        fx.mapFixedFails(EEXIST, ioasId, BUFFER, PAGE_SIZE * 2, baseIova + 16 * PAGE_SIZE);
        fx.mapFixedFails(EEXIST, ioasId, BUFFER, PAGE_SIZE, baseIova + 16 * PAGE_SIZE);
        fx.mapFixedFails(EEXIST, ioasId, BUFFER, PAGE_SIZE, baseIova + 17 * PAGE_SIZE);
        fx.mapFixedFails(EEXIST, ioasId, BUFFER, PAGE_SIZE * 2, baseIova + 15 * PAGE_SIZE);
        fx.mapFixedFails(EEXIST, ioasId, BUFFER, PAGE_SIZE * 3, baseIova + 15 * PAGE_SIZE);
        // unmap all works, and succeeds on an empty IOAS
        assertEquals(PAGE_SIZE * 2, fd.ioasUnmap(ioasId, 0, -1L));
        assertEquals(0, fd.ioasUnmap(ioasId, 0, -1L));
        if (hwptId != 0) {
            assertEquals(0, fx.iommu.iovaToPhys(fx.domainOf(hwptId), baseIova + 16 * PAGE_SIZE));
        }
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/unmap_fully_contained_areas: a range cutting an area ENOENT; one "
            + "covering four areas and holes unmaps 32 pages (rule 123)")
    void unmapFullyContainedAreas(Variant v) {
        setUp(v);
        baseIova += 4 * PAGE_SIZE;
        for (int i = 0; i != 4; i++) {
            fx.mapFixed(ioasId, BUFFER, 8 * PAGE_SIZE, baseIova + i * 16 * PAGE_SIZE);
        }
        fx.unmapFails(ENOENT, ioasId, baseIova - 4 * PAGE_SIZE, 8 * PAGE_SIZE);
        fx.unmapFails(ENOENT, ioasId, baseIova + 3 * 16 * PAGE_SIZE + 8 * PAGE_SIZE
                - 4 * PAGE_SIZE, 8 * PAGE_SIZE);
        assertEquals(32 * PAGE_SIZE, fd.ioasUnmap(ioasId, baseIova - 4 * PAGE_SIZE,
                3 * 16 * PAGE_SIZE + 8 * PAGE_SIZE + 4 * PAGE_SIZE));
        assertEquals(0, fd.ioasAreas(ioasId).length);
    }

    private static boolean aligned(long iova, long length) {
        return iova % Long.lowestOneBit(length) == 0;
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/area_auto_iova: allocated IOVAs are aligned to the length, avoid "
            + "a reserved range, stay in an allowed range; allowing over a reserved range is "
            + "EADDRINUSE (EEXIST, D31) (rules 122, 124)")
    void areaAutoIova(Variant v) {
        setUp(v);
        long[] iovas = new long[10];
        for (int i = 0; i != 10; i++) {
            iovas[i] = fx.map(ioasId, BUFFER, PAGE_SIZE);
        }
        for (int i = 0; i != 10; i++) {
            fd.ioasUnmap(ioasId, iovas[i], PAGE_SIZE);
        }
        for (int i = 0; i != 10; i++) {
            long length = PAGE_SIZE * (i + 1);
            iovas[i] = fx.map(ioasId, stdevId != 0 ? BUFFER : 1L << 31, length);
            assertTrue(aligned(iovas[i], length), Long.toHexString(iovas[i]));
        }
        for (int i = 0; i != 10; i++) {
            fd.ioasUnmap(ioasId, iovas[i], PAGE_SIZE * (i + 1));
        }
        // avoids a reserved region
        long resStart = PAGE_SIZE * 4;
        long resLength = PAGE_SIZE * 100;
        fd.ioasReserveIova(ioasId, resStart, resLength);
        for (int i = 0; i != 10; i++) {
            long length = PAGE_SIZE * (i + 1);
            iovas[i] = fx.map(ioasId, BUFFER, length);
            assertTrue(aligned(iovas[i], length));
            assertFalse(iovas[i] > resStart && iovas[i] < resStart + resLength);
        }
        for (int i = 0; i != 10; i++) {
            fd.ioasUnmap(ioasId, iovas[i], PAGE_SIZE * (i + 1));
        }
        // an allowed region that intersects a reserved one
        fx.unchanged(EEXIST, () -> fd.ioasAllowIovas(ioasId,
                new IovaRange(PAGE_SIZE, PAGE_SIZE * 600)));
        // allocate from an allowed region
        IovaRange r = stdevId != 0
                ? new IovaRange(MOCK_APERTURE_START + PAGE_SIZE,
                        MOCK_APERTURE_START + PAGE_SIZE * 600 - 1)
                : new IovaRange(PAGE_SIZE * 200, PAGE_SIZE * 600 - 1);
        fd.ioasAllowIovas(ioasId, r);
        for (int i = 0; i != 10; i++) {
            long length = PAGE_SIZE * (i + 1);
            iovas[i] = fx.map(ioasId, BUFFER, length);
            assertTrue(aligned(iovas[i], length));
            assertTrue(iovas[i] >= r.start() && iovas[i] <= r.last());
            assertTrue(iovas[i] + length > r.start() && iovas[i] + length <= r.last() + 1);
        }
        for (int i = 0; i != 10; i++) {
            fd.ioasUnmap(ioasId, iovas[i], PAGE_SIZE * (i + 1));
        }
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/reserved_overflow: a reservation from 6 of 0xffffffffffff8001 "
            + "bytes leaves no room for 0x5000 bytes at an allocated IOVA: ENOSPC, not a wrap "
            + "(rules 122, 124)")
    void reservedOverflow(Variant v) {
        setUp(v);
        fd.ioasReserveIova(ioasId, 6, 0xffff_ffff_ffff_8001L);
        fx.unchanged(ENOSPC, () -> fx.map(ioasId, BUFFER, 0x5000));
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/area_allowed: reserving inside an allowed range and allowing over "
            + "a reserved one are both EADDRINUSE (EEXIST, D31); no range clears (rule 124)")
    void areaAllowed(Variant v) {
        setUp(v);
        IovaRange r = new IovaRange(baseIova, baseIova + PAGE_SIZE * 600);
        fd.ioasAllowIovas(ioasId, r);
        fx.unchanged(EEXIST, () -> fd.ioasReserveIova(ioasId, r.start() + PAGE_SIZE, PAGE_SIZE));
        fd.ioasAllowIovas(ioasId);
        fd.ioasReserveIova(ioasId, r.start() + PAGE_SIZE, PAGE_SIZE);
        fx.unchanged(EEXIST, () -> fd.ioasAllowIovas(ioasId, r));
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/copy_area: a copy inside one IOAS and into another succeeds and "
            + "maps the same pages (rule 126; flags FIXED_IOVA | WRITEABLE as later kernels "
            + "require)")
    void copyArea(Variant v) {
        setUp(v);
        int flags = Iommufd.MAP_FIXED_IOVA | Iommufd.MAP_WRITEABLE;
        fx.mapFixed(ioasId, BUFFER, PAGE_SIZE, baseIova);
        assertEquals(baseIova + PAGE_SIZE, fd.ioasCopy(ioasId, baseIova + PAGE_SIZE, ioasId,
                baseIova, PAGE_SIZE, flags));
        int dst = fd.ioasAlloc();
        assertEquals(0, fd.ioasCopy(dst, 0, ioasId, baseIova, PAGE_SIZE, flags));
        assertEquals(BUFFER, fd.ioasAreas(dst)[0].paddr);
        if (hwptId != 0) {
            fx.checkMockIova(hwptId, BUFFER, baseIova + PAGE_SIZE, PAGE_SIZE);
        }
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/iova_ranges: no_domain reports [0, 2^64-1] with alignment 1, two "
            + "ranges around a reservation; with a mock domain the alignment is MOCK_PAGE_SIZE, "
            + "but the ranges are no_domain's, not the mock aperture, as domains publish no "
            + "aperture (D30) (rule 124)")
    void iovaRanges(Variant v) {
        setUp(v);
        assertArrayEquals(new IovaRange[] {new IovaRange(0, -1L)}, fd.ioasIovaRanges(ioasId));
        assertEquals(stdevId == 0 ? 1 : MOCK_PAGE_SIZE, fd.ioasIovaAlignment(ioasId));
        fd.ioasReserveIova(ioasId, PAGE_SIZE, PAGE_SIZE);
        assertArrayEquals(new IovaRange[] {new IovaRange(0, PAGE_SIZE - 1),
            new IovaRange(PAGE_SIZE * 2, -1L)}, fd.ioasIovaRanges(ioasId),
                Arrays.toString(fd.ioasIovaRanges(ioasId)));
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/ioas_iova_alloc: every length from 1 to 2 pages maps at an "
            + "allocated IOVA; with a mock domain those not a multiple of MOCK_PAGE_SIZE are "
            + "EINVAL (rules 122, 125)")
    void ioasIovaAlloc(Variant v) {
        setUp(v);
        for (long length = 1; length != PAGE_SIZE * 2; length++) {
            if (v.mockDomains > 0 && length % MOCK_PAGE_SIZE != 0) {
                long l = length;
                ioasid.testkit.Expect.errno(EINVAL, () -> fx.map(ioasId, BUFFER, l));
            } else {
                long iova = fx.map(ioasId, BUFFER, length);
                assertEquals(length, fd.ioasUnmap(ioasId, iova, length));
            }
        }
        assertEquals(0, fd.ioasAreas(ioasId).length);
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/copy_sweep: a copy of MOCK_PAGE_SIZE at every 511-byte step "
            + "succeeds inside the mapped range and is ENOENT where it leaves it (rule 126)")
    void copySweep(Variant v) {
        setUp(v);
        int dst = fd.ioasAlloc();
        long lastIova = MOCK_APERTURE_START + BUFFER_SIZE - (v.mockDomains > 0 ? 1 : 2);
        fx.mapFixed(ioasId, BUFFER, lastIova - MOCK_APERTURE_START + 1, MOCK_APERTURE_START);
        int flags = Iommufd.MAP_FIXED_IOVA | Iommufd.MAP_WRITEABLE;
        int copies = 0;
        for (long iova = MOCK_APERTURE_START - PAGE_SIZE; iova <= lastIova; iova += 511) {
            long src = iova;
            if (iova < MOCK_APERTURE_START || iova + MOCK_PAGE_SIZE - 1 > lastIova) {
                ioasid.testkit.Expect.errno(ENOENT, () -> fd.ioasCopy(dst, MOCK_APERTURE_START,
                        ioasId, src, MOCK_PAGE_SIZE, flags));
            } else {
                fd.ioasCopy(dst, MOCK_APERTURE_START, ioasId, src, MOCK_PAGE_SIZE, flags);
                assertEquals(BUFFER + (iova - MOCK_APERTURE_START), fd.ioasAreas(dst)[0].paddr);
                assertEquals(MOCK_PAGE_SIZE, fd.ioasUnmap(dst, MOCK_APERTURE_START,
                        MOCK_PAGE_SIZE));
                copies++;
            }
        }
        assertTrue(copies > 100, "copies " + copies);
        fd.destroy(dst);
    }

    @ParameterizedTest(name = "iommufd_ioas.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_ioas/alloc_hwpt_nested, its paging part: a device ID that is an IOAS "
            + "is ENOENT, a source that is a device EINVAL; parent and plain HWPTs rotate and "
            + "are destroyed once free; without a device ENOENT (rules 120, 127, 128)")
    void allocHwptNestedPagingPart(Variant v) {
        setUp(v);
        if (deviceId != 0) {
            fx.unchanged(ENOENT, () -> fd.hwptAlloc(ioasId, deviceId, 0));
            fx.unchanged(EINVAL, () -> fd.hwptAlloc(deviceId, deviceId, 0));
            int parent = fd.hwptAlloc(deviceId, ioasId, Iommufd.HWPT_ALLOC_NEST_PARENT);
            int notWork = fd.hwptAlloc(deviceId, ioasId, 0);
            assertTrue(fx.object(parent).nestParent);
            fd.deviceReplace(stdevId, parent);
            fx.unchanged(EBUSY, () -> fd.destroy(parent));
            fd.deviceReplace(stdevId, ioasId);
            fd.destroy(parent);
            fd.destroy(notWork);
        } else {
            fx.unchanged(ENOENT, () -> fd.hwptAlloc(deviceId, ioasId, 0));
            fx.unchanged(ENOENT, () -> fd.deviceReplace(stdevId, ioasId));
        }
    }
}
