package ioasid.core.iommufd;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.core.iommufd.IommufdFixture.BUFFER;
import static ioasid.core.iommufd.IommufdFixture.BUFFER_SIZE;
import static ioasid.core.iommufd.IommufdFixture.MOCK_APERTURE_START;
import static ioasid.core.iommufd.IommufdFixture.MOCK_PAGE_SIZE;
import static ioasid.core.iommufd.IommufdFixture.PAGE_SIZE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import ioasid.api.iommu.Access;
import ioasid.api.iommufd.Iommufd;

/**
 * The kernel's {@code FIXTURE(iommufd_mock_domain)} cases that need an IOAS, run for the variants
 * {@code one_domain} and {@code two_domains} (the hugepage variants map transparent huge pages of
 * user memory, which the model does not have). As in the kernel, both mock devices sit on one
 * mock IOMMU and so share one HWPT. {@code check_mock_iova} reads the HWPT's domain through the
 * IOMMU core. Rules 121-128.
 */
class MockDomainSelftestTest {
    /** {@code FIXTURE_VARIANT(iommufd_mock_domain)} without the hugepage ones. */
    enum Variant {
        ONE_DOMAIN(1), TWO_DOMAINS(2);

        final int mockDomains;

        Variant(int mockDomains) {
            this.mockDomains = mockDomains;
        }

        @Override
        public String toString() {
            return name().toLowerCase();
        }
    }

    /** The selftests' mmap'ed buffer of the fixture: page aligned, 8 pages. */
    private static final long BUF = 0x5001_0000L;
    private static final long MMAP_BUF_SIZE = PAGE_SIZE * 8;

    private IommufdFixture fx;
    private Iommufd fd;
    private int ioasId;
    private final int[] hwptIds = new int[2];
    private final int[] stdevIds = new int[2];
    private int hwptId;

    /** {@code FIXTURE_SETUP(iommufd_mock_domain)}. */
    private void setUp(Variant v) {
        fx = new IommufdFixture();
        fd = fx.fd;
        ioasId = fd.ioasAlloc();
        for (int i = 0; i != v.mockDomains; i++) {
            int[] dom = fx.mockDomain(ioasId);
            stdevIds[i] = dom[0];
            hwptIds[i] = dom[1];
        }
        hwptId = hwptIds[0];
    }

    @AfterEach
    void tearDown() {
        if (fx != null) {
            fx.close();
        }
    }

    /** {@code check_mock_iova}: the HWPT and, with two domains, the second one. */
    private void checkMockIova(long paddr, long iova, long length) {
        fx.checkMockIova(hwptId, paddr, iova, length);
        if (hwptIds[1] != 0) {
            fx.checkMockIova(hwptIds[1], paddr, iova, length);
        }
    }

    @ParameterizedTest(name = "iommufd_mock_domain.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_mock_domain/basic, its map part: a one-page map at an allocated IOVA "
            + "reaches the mock domain (rule 121)")
    void basic(Variant v) {
        setUp(v);
        long iova = fx.map(ioasId, BUFFER, PAGE_SIZE);
        checkMockIova(BUFFER, iova, PAGE_SIZE);
        assertEquals(BUFFER + 5, fx.iommu.translate(fx.object(stdevIds[0]).device, 0, iova + 5,
                Access.WRITE).physAddr());
    }

    @ParameterizedTest(name = "iommufd_mock_domain.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_mock_domain/all_aligns: every start and length in MOCK_PAGE_SIZE steps "
            + "within 8 pages maps, reaches the domain and unmaps (rules 121-123)")
    void allAligns(Variant v) {
        setUp(v);
        int maps = 0;
        for (long start = 0; start < MMAP_BUF_SIZE; start += MOCK_PAGE_SIZE) {
            for (long end = start + MOCK_PAGE_SIZE; end < MMAP_BUF_SIZE; end += MOCK_PAGE_SIZE) {
                long length = end - start;
                long iova = fx.map(ioasId, BUF + start, length);
                checkMockIova(BUF + start, iova, length);
                assertEquals(length, fd.ioasUnmap(ioasId, iova, length));
                maps++;
            }
        }
        assertEquals(120, maps);
        assertEquals(0, fd.ioasAreas(ioasId).length);
    }

    @ParameterizedTest(name = "iommufd_mock_domain.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_mock_domain/all_aligns_copy: a domain added while an area exists is "
            + "filled with it, and destroyed with its device (rules 125, 127); the added device "
            + "sits on a second mock IOMMU so that a new HWPT is made")
    void allAlignsCopy(Variant v) {
        setUp(v);
        MockIommu other = fx.bind(new MockIommu("mock1", 256));
        for (long start = 0; start < MMAP_BUF_SIZE; start += MOCK_PAGE_SIZE) {
            for (long end = start + MOCK_PAGE_SIZE; end < MMAP_BUF_SIZE; end += MOCK_PAGE_SIZE) {
                long length = end - start;
                long iova = fx.map(ioasId, BUF + start, length);
                int oldId = hwptIds[1];
                int[] dom = fx.mockDomain(other, ioasId);
                hwptIds[1] = dom[1];
                assertNotEquals(hwptId, hwptIds[1]);
                checkMockIova(BUF + start, iova, length);
                fd.deviceUnbind(dom[0]);
                assertFalse(fx.exists(dom[1]), "the auto HWPT goes with its device");
                hwptIds[1] = oldId;
                fd.ioasUnmap(ioasId, iova, length);
            }
        }
    }

    @ParameterizedTest(name = "iommufd_mock_domain.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_mock_domain/user_copy, its copy part: pages mapped in an IOAS without "
            + "domains are copied into the fixture's IOAS and reach its domain, twice (rule 126)")
    void userCopy(Variant v) {
        setUp(v);
        int flags = Iommufd.MAP_FIXED_IOVA | Iommufd.MAP_WRITEABLE;
        int ioas2 = fd.ioasAlloc();
        long src = fx.map(ioas2, BUFFER, BUFFER_SIZE);
        fd.ioasCopy(ioasId, MOCK_APERTURE_START, ioas2, src, BUFFER_SIZE, flags);
        checkMockIova(BUFFER, MOCK_APERTURE_START, BUFFER_SIZE);
        int newIoas = fd.ioasAlloc();
        src = fx.map(newIoas, BUFFER, BUFFER_SIZE);
        assertEquals(BUFFER_SIZE, fd.ioasUnmap(ioasId, MOCK_APERTURE_START, BUFFER_SIZE));
        fd.destroy(ioas2);
        fd.ioasCopy(ioasId, MOCK_APERTURE_START, newIoas, src, BUFFER_SIZE, flags);
        checkMockIova(BUFFER, MOCK_APERTURE_START, BUFFER_SIZE);
        fd.destroy(newIoas);
    }

    @ParameterizedTest(name = "iommufd_mock_domain.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_mock_domain/replace: a device moves to another IOAS; its old auto HWPT, "
            + "left unused, is destroyed (ENOENT after); replacing to the same target does "
            + "nothing; it moves back (rules 127, 128)")
    void replace(Variant v) {
        setUp(v);
        String dev0 = fx.object(stdevIds[0]).device;
        int ioas2 = fd.ioasAlloc();
        long iova2 = fd.ioasMap(ioas2, MOCK_APERTURE_START, BUFFER, PAGE_SIZE,
                IommufdFixture.RW | Iommufd.MAP_FIXED_IOVA);
        int moved = fd.deviceReplace(stdevIds[0], ioas2);
        assertEquals(BUFFER, fx.iommu.translate(dev0, 0, iova2, Access.READ).physAddr());
        if (v.mockDomains == 1) {
            fx.unchanged(ENOENT, () -> fd.deviceReplace(stdevIds[0], hwptIds[0]));
        }
        assertEquals(moved, fd.deviceReplace(stdevIds[0], ioas2));
        if (v.mockDomains >= 2) {
            assertEquals(hwptIds[1], fd.deviceReplace(stdevIds[0], hwptIds[1]));
            assertEquals(hwptIds[1], fd.deviceReplace(stdevIds[0], hwptIds[1]));
            assertEquals(hwptIds[0], fd.deviceReplace(stdevIds[0], hwptIds[0]));
        }
        fd.deviceReplace(stdevIds[0], ioasId);
        assertFalse(fx.iommu.translate(dev0, 0, iova2, Access.READ).translated());
        fd.destroy(ioas2);
    }

    @ParameterizedTest(name = "iommufd_mock_domain.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_mock_domain/alloc_hwpt: unknown flags EOPNOTSUPP; plain and "
            + "nesting-parent HWPTs rotate under each device, EBUSY while attached, destroyed "
            + "once free, also after a device attached to one directly (rules 120, 127, 128)")
    void allocHwpt(Variant v) {
        setUp(v);
        for (int i = 0; i != v.mockDomains; i++) {
            int dev = stdevIds[i];
            fx.unchanged(EOPNOTSUPP, () -> fd.hwptAlloc(dev, ioasId,
                    ~Iommufd.HWPT_ALLOC_NEST_PARENT));
            int h0 = fd.hwptAlloc(dev, ioasId, 0);
            int h1 = fd.hwptAlloc(dev, ioasId, Iommufd.HWPT_ALLOC_NEST_PARENT);
            fd.deviceReplace(dev, h0);
            fx.unchanged(EBUSY, () -> fd.destroy(h0));
            fd.deviceReplace(dev, h1);
            fx.unchanged(EBUSY, () -> fd.destroy(h1));
            fd.deviceReplace(dev, ioasId);
            fd.destroy(h1);
            int[] stddev = fx.mockDomain(h0);
            assertEquals(h0, stddev[1]);
            fd.deviceUnbind(stddev[0]);
            fd.destroy(h0);
            assertTrue(fx.exists(ioasId));
        }
    }
}
