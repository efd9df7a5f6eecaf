package ioasid.bench;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.osgi.framework.Constants;

import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.PrivatePasid;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.spi.IoasidListener;
import ioasid.backend.smmuv3.impl.Smmuv3Backend;
import ioasid.backend.vtd.impl.VtdBackend;
import ioasid.core.impl.IoasidCore;
import ioasid.core.iommu.IommuCore;
import ioasid.testkit.ComponentConfig;

/**
 * Benchmark 7: map and unmap one 4 KiB page, and translate an IOVA, through a private-PASID
 * handle on a PASID-capable device of the SMMUv3 and VT-d models (page-table walk, IOTLB
 * invalidation command and its sync included in unmap). 4096 pages stay mapped meanwhile. The
 * baselines are page maps a Java user would write: IOVA page to physical page in a
 * {@code HashMap} under a lock, or in a {@code ConcurrentHashMap}, with the same alignment and
 * overlap checks.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
public class MapBench {
    static final long PAGE = 4096;
    static final int RESIDENT = 4096;
    static final long BASE = 0x1000_0000L;
    static final long PHYS = 0x8000_0000L;
    /** Where the map/unmap cycle works, past the resident pages. */
    static final long SCRATCH = BASE + RESIDENT * PAGE + 0x10_0000L;

    @Param({"smmuv3", "vtd", "hashmap", "concurrent"})
    public String impl;

    private IoasidCore ioasid;
    private IommuCore iommu;
    private PrivatePasid pasid;
    private PageMap pages;
    private int cursor;

    /** The baselines' common shape. */
    interface PageMap {
        void map(long iova, long paddr, long size, int prot);

        long unmap(long iova, long size);

        long iovaToPhys(long iova);
    }

    private static void check(long iova, long paddr, long size) {
        if (((iova | paddr | size) & (PAGE - 1)) != 0 || size == 0) {
            throw new IllegalArgumentException("unaligned");
        }
    }

    /** A {@code HashMap} page map under one lock. */
    static final class LockedPages implements PageMap {
        private final Map<Long, Long> map = new HashMap<>();

        @Override
        public synchronized void map(long iova, long paddr, long size, int prot) {
            check(iova, paddr, size);
            for (long o = 0; o < size; o += PAGE) {
                if (map.containsKey(iova + o)) {
                    throw new IllegalStateException("mapped");
                }
            }
            for (long o = 0; o < size; o += PAGE) {
                map.put(iova + o, paddr + o);
            }
        }

        @Override
        public synchronized long unmap(long iova, long size) {
            check(iova, 0, size);
            long done = 0;
            while (done < size && map.remove(iova + done) != null) {
                done += PAGE;
            }
            return done;
        }

        @Override
        public synchronized long iovaToPhys(long iova) {
            Long p = map.get(iova & ~(PAGE - 1));
            return p == null ? 0 : p + (iova & (PAGE - 1));
        }
    }

    /** A {@code ConcurrentHashMap} page map; overlapping maps race, which users accept. */
    static final class ConcurrentPages implements PageMap {
        private final ConcurrentHashMap<Long, Long> map = new ConcurrentHashMap<>();

        @Override
        public void map(long iova, long paddr, long size, int prot) {
            check(iova, paddr, size);
            for (long o = 0; o < size; o += PAGE) {
                if (map.putIfAbsent(iova + o, paddr + o) != null) {
                    for (long u = 0; u < o; u += PAGE) {
                        map.remove(iova + u);
                    }
                    throw new IllegalStateException("mapped");
                }
            }
        }

        @Override
        public long unmap(long iova, long size) {
            check(iova, 0, size);
            long done = 0;
            while (done < size && map.remove(iova + done) != null) {
                done += PAGE;
            }
            return done;
        }

        @Override
        public long iovaToPhys(long iova) {
            Long p = map.get(iova & ~(PAGE - 1));
            return p == null ? 0 : p + (iova & (PAGE - 1));
        }
    }

    @Setup
    public void setUp() {
        switch (impl) {
            case "smmuv3":
                pasid = privatePasid(new Smmuv3Backend(ComponentConfig.of(Smmuv3Backend.Config.class,
                        Map.of("ioasid_iommu_name", "smmu0",
                                "devices", new String[] {"0000:00:01.0;sid=0x8;pasid=20"}))),
                        "smmu0", "0000:00:01.0");
                pages = pasidPages();
                break;
            case "vtd":
                pasid = privatePasid(new VtdBackend(null, ComponentConfig.of(VtdBackend.Config.class,
                        Map.of("ioasid_iommu_name", "dmar0",
                                "devices", new String[] {"0000:01:00.0;pasid=20"})), null),
                        "dmar0", "0000:01:00.0");
                pages = pasidPages();
                break;
            case "hashmap":
                pages = new LockedPages();
                break;
            case "concurrent":
                pages = new ConcurrentPages();
                break;
            default:
                throw new IllegalArgumentException("unknown impl " + impl);
        }
        for (int i = 0; i < RESIDENT; i++) {
            pages.map(BASE + i * PAGE, PHYS + i * PAGE, PAGE, Prot.READ | Prot.WRITE);
        }
    }

    private PrivatePasid privatePasid(IommuBackend backend, String name, String device) {
        ioasid = new IoasidCore(20, 60_000);
        iommu = new IommuCore(ioasid, DomainType.DMA, 4096);
        Map<String, Object> lp = new HashMap<>();
        lp.put(Constants.SERVICE_ID, 100L);
        lp.put(Constants.SERVICE_RANKING, IoasidListener.PRIORITY_IOMMU);
        lp.put(IoasidListener.EVENTS, "FREE");
        ioasid.bindListener(iommu, lp);
        Map<String, Object> bp = new HashMap<>();
        bp.put(Constants.SERVICE_ID, 1L);
        bp.put(IommuBackend.NAME, name);
        iommu.bindBackend(backend, bp);
        return iommu.privatePasidAlloc(device);
    }

    private PageMap pasidPages() {
        PrivatePasid p = pasid;
        return new PageMap() {
            @Override
            public void map(long iova, long paddr, long size, int prot) {
                p.map(iova, paddr, size, prot);
            }

            @Override
            public long unmap(long iova, long size) {
                return p.unmap(iova, size);
            }

            @Override
            public long iovaToPhys(long iova) {
                return p.iovaToPhys(iova);
            }
        };
    }

    @TearDown
    public void tearDown() {
        for (int i = 0; i < RESIDENT; i += 997) {
            long iova = BASE + i * PAGE + 0x123;
            if (pages.iovaToPhys(iova) != PHYS + i * PAGE + 0x123) {
                throw new IllegalStateException(impl + " lost the mapping of " + iova);
            }
        }
        if (pasid != null) {
            iommu.privatePasidFree(pasid);
        }
    }

    /** One page mapped and unmapped again (with the IOTLB sync), at one of 64 scratch pages. */
    @Benchmark
    public long mapUnmap() {
        long iova = SCRATCH + (cursor++ & 63) * PAGE;
        pages.map(iova, PHYS, PAGE, Prot.READ | Prot.WRITE);
        long n = pages.unmap(iova, PAGE);
        if (n != PAGE) {
            throw new IllegalStateException("unmapped " + n);
        }
        return n;
    }

    /** The translation of a random resident page. */
    @Benchmark
    public long iovaToPhys() {
        int i = (cursor = cursor * 1_103_515_245 + 12_345) >>> 20 & (RESIDENT - 1);
        return pages.iovaToPhys(BASE + i * PAGE + 8);
    }
}
