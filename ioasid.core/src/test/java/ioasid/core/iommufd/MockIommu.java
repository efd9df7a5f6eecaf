package ioasid.core.iommufd;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.BackendVdevice;
import ioasid.api.iommu.spi.BackendViommu;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;

/**
 * The kernel selftests' mock IOMMU ({@code drivers/iommu/iommufd/selftest.c}) as a backend: paging
 * domains with a page of {@link #MOCK_PAGE_SIZE} (half the CPU page) whose aperture ends at
 * {@link #MOCK_APERTURE_LAST}, nesting parents and vIOMMUs, PASIDs, one group per device. Each
 * page is kept as its physical address, so a test can check what reached the domain (the
 * selftests' {@code IOMMU_TEST_OP_MD_CHECK_MAP}). The model's domains have no aperture start, so
 * the mock's IOVAs below {@link #MOCK_APERTURE_START} are accepted (D30).
 */
final class MockIommu implements IommuBackend {
    static final long PAGE_SIZE = 4096;
    static final long MOCK_PAGE_SIZE = PAGE_SIZE / 2;
    static final long MOCK_APERTURE_START = 1L << 24;
    static final long MOCK_APERTURE_LAST = (1L << 31) - 1;

    final String name;
    private final List<DeviceInfo> devices = new ArrayList<>();
    private final IommuCaps caps;
    /** The last IOVA its paging domains map; tests give one instance a smaller aperture. */
    volatile long apertureEnd = MOCK_APERTURE_LAST;
    /** Domains (by their number in {@link #allocated}) whose next map fails with ENOMEM. */
    final Set<Integer> failMap = Collections.synchronizedSet(new HashSet<>());
    final List<MockDomain> allocated = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, MockDomain> rid = new HashMap<>();
    private final Map<String, MockDomain> pasids = new HashMap<>();

    MockIommu(String name, int deviceCount) {
        this.name = name;
        for (int i = 0; i < deviceCount; i++) {
            devices.add(new DeviceInfo(device(i), device(i), i, 8));
        }
        this.caps = IommuCaps.builder("mock").maxPasids(256).pgsizeBitmap(MOCK_PAGE_SIZE)
                .addressBits(32, 48).nesting(true).build();
    }

    /** The name of its i-th device. */
    String device(int i) {
        return name + ":" + i;
    }

    /** A mock domain: pages of MOCK_PAGE_SIZE, each its physical address and protection. */
    final class MockDomain implements BackendDomain {
        final int number = allocated.size();
        final DomainType type;
        final TreeMap<Long, long[]> pages = new TreeMap<>();
        volatile boolean freed;

        MockDomain(DomainType type) {
            this.type = type;
        }

        @Override
        public DomainType type() {
            return type;
        }

        @Override
        public long pgsizeBitmap() {
            return MOCK_PAGE_SIZE;
        }

        @Override
        public long apertureEnd() {
            return type.isPaging() ? apertureEnd : 0;
        }

        @Override
        public synchronized void mapPages(long iova, long paddr, long pgsize, long count,
                int prot) {
            if (failMap.remove(number)) {
                throw new IoasidException(Errno.ENOMEM, "mock domain " + number + " is full");
            }
            long n = pgsize / MOCK_PAGE_SIZE * count;
            for (long i = 0; i < n; i++) {
                long at = iova + i * MOCK_PAGE_SIZE;
                if (pages.containsKey(at)) {
                    for (long j = 0; j < i; j++) {
                        pages.remove(iova + j * MOCK_PAGE_SIZE);
                    }
                    throw new IoasidException(Errno.EEXIST, "0x" + Long.toHexString(at)
                            + " is mapped");
                }
                pages.put(at, new long[] {paddr + i * MOCK_PAGE_SIZE, prot});
            }
        }

        @Override
        public synchronized long unmapPages(long iova, long pgsize, long count,
                IotlbGather gather) {
            long n = pgsize / MOCK_PAGE_SIZE * count;
            long done = 0;
            for (long i = 0; i < n && pages.remove(iova + i * MOCK_PAGE_SIZE) != null; i++) {
                done += MOCK_PAGE_SIZE;
            }
            gather.add(iova, done, MOCK_PAGE_SIZE);
            return done;
        }

        @Override
        public synchronized long iovaToPhys(long iova) {
            long[] e = pages.get(iova & -MOCK_PAGE_SIZE);
            return e == null ? 0 : e[0] + (iova & (MOCK_PAGE_SIZE - 1));
        }

        synchronized int pageCount() {
            return pages.size();
        }

        @Override
        public void iotlbSync(IotlbGather gather) {
        }

        @Override
        public void flushIotlbAll() {
        }

        @Override
        public void free() {
            freed = true;
        }

        Walk walk(long iova, Access access) {
            switch (type) {
                case IDENTITY:
                    return Walk.bypass(this);
                case BLOCKED:
                    return Walk.fault("BLOCKED", this);
                default: {
                    long[] e;
                    synchronized (this) {
                        e = pages.get(iova & -MOCK_PAGE_SIZE);
                    }
                    if (e == null) {
                        return Walk.fault("NOT_MAPPED", this);
                    }
                    if (access == Access.WRITE && (e[1] & Prot.WRITE) == 0) {
                        return Walk.fault("READ_ONLY", this);
                    }
                    return Walk.translated(e[0] + (iova & (MOCK_PAGE_SIZE - 1)), this);
                }
            }
        }
    }

    @Override
    public IommuCaps caps() {
        return caps;
    }

    @Override
    public List<DeviceInfo> devices() {
        return List.copyOf(devices);
    }

    @Override
    public BackendDomain domainAlloc(DomainType type, boolean nestingParent) {
        MockDomain d = new MockDomain(type);
        allocated.add(d);
        return d;
    }

    @Override
    public BackendDomain svaDomainAlloc(ProcessAddressSpace mm) {
        throw new IoasidException(Errno.EOPNOTSUPP, "the mock has no SVA");
    }

    @Override
    public synchronized void attachDev(String device, BackendDomain domain) {
        rid.put(device, (MockDomain) domain);
    }

    @Override
    public synchronized void detachDev(String device) {
        throw new IoasidException(Errno.EOPNOTSUPP, "the mock has default domains");
    }

    @Override
    public synchronized void setDevPasid(String device, int pasid, BackendDomain domain) {
        pasids.put(device + ":" + pasid, (MockDomain) domain);
    }

    @Override
    public synchronized void removeDevPasid(String device, int pasid, BackendDomain domain) {
        pasids.remove(device + ":" + pasid);
    }

    @Override
    public Walk translate(String device, int pasid, long iova, Access access) {
        MockDomain d;
        synchronized (this) {
            d = pasid == Ioasid.NO_PASID ? rid.get(device) : pasids.get(device + ":" + pasid);
        }
        return d == null ? Walk.fault("NO_DOMAIN", null) : d.walk(iova, access);
    }

    @Override
    public BackendViommu viommuAlloc(BackendDomain nestingParent) {
        return new BackendViommu() {
            @Override
            public BackendVdevice vdeviceInit(String device, long virtId) {
                return () -> {
                };
            }

            @Override
            public void destroy() {
            }
        };
    }

    @Override
    public List<String> commandLog() {
        return List.of();
    }
}
