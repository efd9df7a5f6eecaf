package ioasid.core.iommufd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.osgi.framework.Constants;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommufd.Iommufd;
import ioasid.api.iommufd.IommufdObjectDTO;
import ioasid.api.iommufd.ObjectType;
import ioasid.api.spi.IoasidListener;
import ioasid.core.impl.IoasidCore;
import ioasid.core.iommu.IommuCore;
import ioasid.testkit.Expect;

/**
 * The iommufd layer over a real IOMMU core and IOASID core, wired as SCR would, with mock IOMMUs
 * bound by hand, and one context open: what the selftests get from {@code open("/dev/iommu")}
 * with the mock driver loaded. Its helpers are the selftests' {@code iommufd_utils.h} ones.
 */
final class IommufdFixture implements AutoCloseable {
    static final long PAGE_SIZE = MockIommu.PAGE_SIZE;
    static final long MOCK_PAGE_SIZE = MockIommu.MOCK_PAGE_SIZE;
    static final long MOCK_APERTURE_START = MockIommu.MOCK_APERTURE_START;
    static final long MOCK_APERTURE_LAST = MockIommu.MOCK_APERTURE_LAST;
    static final long HUGEPAGE_SIZE = 2L << 20;
    static final long BUFFER_SIZE = PAGE_SIZE * 16;
    /** The selftests' {@code buffer}: physical memory aligned to a huge page. */
    static final long BUFFER = 0x4000_0000L;
    static final int RW = Iommufd.MAP_READABLE | Iommufd.MAP_WRITEABLE;

    private static final AtomicLong SERVICE_IDS = new AtomicLong(9000);

    final IoasidCore ioasid = new IoasidCore(20, 10_000);
    final IommuCore iommu = new IommuCore(ioasid, DomainType.DMA_FQ, 4096);
    final MockIommu mock = new MockIommu("mock0", 32);
    final IommufdCore service;
    final Iommufd fd;
    private final Map<MockIommu, Map<String, Object>> bound = new HashMap<>();
    private final Map<MockIommu, Integer> nextDevice = new HashMap<>();

    IommufdFixture() {
        Map<String, Object> lp = new HashMap<>();
        lp.put(Constants.SERVICE_ID, SERVICE_IDS.incrementAndGet());
        lp.put(Constants.SERVICE_RANKING, IoasidListener.PRIORITY_IOMMU);
        lp.put(IoasidListener.EVENTS, "FREE");
        ioasid.bindListener(iommu, lp);
        bind(mock);
        service = new IommufdCore(iommu);
        fd = service.open("selftest");
    }

    MockIommu bind(MockIommu m) {
        Map<String, Object> p = new HashMap<>();
        p.put(Constants.SERVICE_ID, SERVICE_IDS.incrementAndGet());
        p.put(IommuBackend.NAME, m.name);
        bound.put(m, p);
        iommu.bindBackend(m, p);
        return m;
    }

    void unbind(MockIommu m) {
        iommu.unbindBackend(m, bound.remove(m));
    }

    /**
     * {@code test_cmd_mock_domain}: a new mock device, bound and attached to {@code ptId}.
     *
     * @return {device object ID, HWPT ID}
     */
    int[] mockDomain(int ptId) {
        return mockDomain(mock, ptId);
    }

    int[] mockDomain(MockIommu m, int ptId) {
        int n = nextDevice.merge(m, 1, Integer::sum) - 1;
        int dev = fd.deviceBind(m.device(n));
        try {
            return new int[] {dev, fd.deviceAttach(dev, ptId)};
        } catch (RuntimeException e) {
            fd.deviceUnbind(dev);
            throw e;
        }
    }

    /**
     * {@code test_err_mock_domain}: the attach fails with errno and nothing stays but the
     * blocking domain the bind made for the device's group, which the core keeps with the group
     * (rule 49), as the kernel does.
     */
    void mockDomainFails(Errno errno, int ptId) {
        Expect.unchanged(errno, () -> state()
                .replaceAll("(, )?\\{\"id\":\\d+, ?\"type\":\"BLOCKED\"[^}]*\\}", "")
                .replaceAll("\"blockingDomainId\":-?\\d+", ""),
                () -> mockDomain(ptId));
    }

    /** {@code test_ioctl_ioas_map}: readable and writeable, at an allocated IOVA. */
    long map(int ioasId, long paddr, long length) {
        return fd.ioasMap(ioasId, 0, paddr, length, RW);
    }

    /** {@code test_ioctl_ioas_map_fixed}. */
    void mapFixed(int ioasId, long paddr, long length, long iova) {
        assertEquals(iova, fd.ioasMap(ioasId, iova, paddr, length, RW | Iommufd.MAP_FIXED_IOVA));
    }

    /** {@code test_err_ioctl_ioas_map_fixed}: fails with errno, nothing changes. */
    void mapFixedFails(Errno errno, int ioasId, long paddr, long length, long iova) {
        unchanged(errno, () -> fd.ioasMap(ioasId, iova, paddr, length,
                RW | Iommufd.MAP_FIXED_IOVA));
    }

    /** {@code test_err_ioctl_ioas_unmap}: fails with errno, nothing changes. */
    void unmapFails(Errno errno, int ioasId, long iova, long length) {
        unchanged(errno, () -> fd.ioasUnmap(ioasId, iova, length));
    }

    IommufdObjectDTO object(int id) {
        for (IommufdObjectDTO o : fd.objects()) {
            if (o.id == id) {
                return o;
            }
        }
        throw new AssertionError("no object " + id + " in " + Arrays.toString(fd.objects()));
    }

    boolean exists(int id) {
        return Arrays.stream(fd.objects()).anyMatch(o -> o.id == id);
    }

    IommuDomain domainOf(int hwptId) {
        IommufdObjectDTO o = object(hwptId);
        assertEquals(ObjectType.HWPT_PAGING.name(), o.type, "object " + hwptId);
        return iommu.domain(o.domainId);
    }

    /**
     * {@code check_mock_iova} / {@code IOMMU_TEST_OP_MD_CHECK_MAP}: every mock page of
     * {@code [iova, iova + length)} in the HWPT's domain maps to {@code paddr} onwards.
     */
    void checkMockIova(int hwptId, long paddr, long iova, long length) {
        IommuDomain d = domainOf(hwptId);
        for (long off = 0; off < length; off += MOCK_PAGE_SIZE) {
            assertEquals(paddr + off, iommu.iovaToPhys(d, iova + off),
                    "HWPT " + hwptId + " at 0x" + Long.toHexString(iova + off));
        }
    }

    /** Everything observable: objects, each IOAS's areas and ranges, the core, the mocks' pages. */
    String state() {
        StringBuilder sb = new StringBuilder(Arrays.toString(fd.objects()));
        for (IommufdObjectDTO o : fd.objects()) {
            if (o.type.equals(ObjectType.IOAS.name())) {
                sb.append(Arrays.toString(fd.ioasAreas(o.id)))
                        .append(Arrays.toString(fd.ioasIovaRanges(o.id)))
                        .append(fd.ioasIovaAlignment(o.id));
            }
        }
        sb.append(Arrays.toString(iommu.groups())).append(Arrays.toString(iommu.domains()))
                .append(Arrays.toString(iommu.pasids())).append(Arrays.toString(iommu.viommus()));
        for (MockIommu m : bound.keySet()) {
            List<MockIommu.MockDomain> doms;
            synchronized (m.allocated) {
                doms = new ArrayList<>(m.allocated);
            }
            for (MockIommu.MockDomain d : doms) {
                if (!d.freed && d.type.isPaging()) {
                    synchronized (d) {
                        sb.append(m.name).append(d.number).append(d.pages.keySet());
                    }
                }
            }
        }
        return sb.toString();
    }

    /** The call fails with errno and changes nothing observable. */
    IoasidException unchanged(Errno errno, Expect.Call call) {
        return Expect.unchanged(errno, this::state, call);
    }

    @Override
    public void close() {
        fd.close();
        service.close();
        iommu.close();
    }
}
