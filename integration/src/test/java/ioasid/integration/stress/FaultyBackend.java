package ioasid.integration.stress;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.BackendViommu;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;

/**
 * An IOMMU backend registered from the test: a simple page map per domain and a pointer per
 * device (and per device and PASID) to its domain, with faults to inject: an attach of one
 * device that fails (after a pause, so that probes can watch the switch under way), and a map
 * that fails for one page size. Translation probes walk exactly what the core told it, so they
 * show where each device's DMA goes.
 */
final class FaultyBackend implements IommuBackend {
    static final long SZ_4K = 0x1000;
    static final long SZ_2M = 0x20_0000;

    private final List<DeviceInfo> devices;
    private final IommuCaps caps = IommuCaps.builder("faulty").maxPasids(256)
            .pgsizeBitmap(SZ_4K | SZ_2M).addressBits(48, 48).build();
    private final Map<String, Dom> rid = new ConcurrentHashMap<>();
    private final Map<String, Dom> pasids = new ConcurrentHashMap<>();
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());
    private int nextDomain = 1;
    private final List<Dom> all = Collections.synchronizedList(new ArrayList<>());

    /** The device whose attach to a new domain fails, with what, after what pause. */
    volatile String failAttachOf;
    volatile RuntimeException attachFailure;
    volatile long attachPauseMs;
    /** The page size whose mapPages fails, with what. */
    volatile long failMapPgsize;
    volatile RuntimeException mapFailure;

    FaultyBackend(List<DeviceInfo> devices) {
        this.devices = devices;
    }

    /** A domain: a page map from IOVA to {physical address, page size}. */
    final class Dom implements BackendDomain {
        final int n;
        final DomainType type;
        final ConcurrentSkipListMap<Long, long[]> pages = new ConcurrentSkipListMap<>();

        Dom(int n, DomainType type) {
            this.n = n;
            this.type = type;
        }

        @Override
        public DomainType type() {
            return type;
        }

        @Override
        public long pgsizeBitmap() {
            return caps.pgsizeBitmap();
        }

        @Override
        public long apertureEnd() {
            return (1L << 48) - 1;
        }

        @Override
        public void mapPages(long iova, long paddr, long pgsize, long count, int prot) {
            RuntimeException f = mapFailure;
            if (f != null && pgsize == failMapPgsize) {
                log.add("map d" + n + " 0x" + Long.toHexString(iova) + " x" + count + " of 0x"
                        + Long.toHexString(pgsize) + " -> fault");
                throw f;
            }
            for (long i = 0; i < count; i++) {
                long at = iova + i * pgsize;
                if (iovaToPhys(at) != 0 || !pages.subMap(at, at + pgsize).isEmpty()) {
                    for (long j = 0; j < i; j++) {
                        pages.remove(iova + j * pgsize); // nothing of this call stays mapped
                    }
                    throw new IoasidException(Errno.EEXIST, "0x" + Long.toHexString(at)
                            + " is mapped");
                }
                pages.put(at, new long[] {paddr + i * pgsize, pgsize});
            }
            log.add("map d" + n + " 0x" + Long.toHexString(iova) + " x" + count + " of 0x"
                    + Long.toHexString(pgsize));
        }

        @Override
        public long unmapPages(long iova, long pgsize, long count, IotlbGather gather) {
            long done = 0;
            long at = iova;
            for (long i = 0; i < count; i++) {
                long[] p = pages.remove(at);
                if (p == null) {
                    break;
                }
                gather.add(at, p[1], p[1]);
                done += p[1];
                at += p[1];
            }
            log.add("unmap d" + n + " 0x" + Long.toHexString(iova) + " 0x"
                    + Long.toHexString(done));
            return done;
        }

        @Override
        public long iovaToPhys(long iova) {
            Map.Entry<Long, long[]> e = pages.floorEntry(iova);
            if (e == null || iova >= e.getKey() + e.getValue()[1]) {
                return 0;
            }
            return e.getValue()[0] + (iova - e.getKey());
        }

        @Override
        public void iotlbSync(IotlbGather gather) {
            log.add("sync d" + n + " " + gather);
        }

        @Override
        public void flushIotlbAll() {
            log.add("flush d" + n);
        }

        @Override
        public void free() {
            log.add("free d" + n);
        }

        @Override
        public String toString() {
            return "d" + n + " " + type;
        }
    }

    @Override
    public IommuCaps caps() {
        return caps;
    }

    @Override
    public List<DeviceInfo> devices() {
        return devices;
    }

    @Override
    public synchronized BackendDomain domainAlloc(DomainType type, boolean nestingParent) {
        if (nestingParent || type == DomainType.SVA) {
            throw new IoasidException(Errno.EOPNOTSUPP, "no nesting, no SVA");
        }
        Dom d = new Dom(nextDomain++, type);
        all.add(d);
        log.add("alloc " + d);
        return d;
    }

    @Override
    public BackendDomain svaDomainAlloc(ProcessAddressSpace mm) {
        throw new IoasidException(Errno.EOPNOTSUPP, "no SVA");
    }

    @Override
    public void attachDev(String device, BackendDomain domain) {
        Dom d = (Dom) domain;
        RuntimeException f = attachFailure;
        if (f != null && device.equals(failAttachOf) && rid.get(device) != d) {
            log.add("attach " + device + " d" + d.n + " -> fault");
            try {
                Thread.sleep(attachPauseMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw f;
        }
        rid.put(device, d);
        log.add("attach " + device + " d" + d.n);
    }

    @Override
    public void detachDev(String device) {
        throw new IoasidException(Errno.EOPNOTSUPP, "uses default domains");
    }

    @Override
    public void setDevPasid(String device, int pasid, BackendDomain domain) {
        pasids.put(device + ":" + pasid, (Dom) domain);
    }

    @Override
    public void removeDevPasid(String device, int pasid, BackendDomain domain) {
        pasids.remove(device + ":" + pasid);
    }

    @Override
    public Walk translate(String device, int pasid, long iova, Access access) {
        Dom d = pasid == 0 ? rid.get(device) : pasids.get(device + ":" + pasid);
        if (d == null) {
            return Walk.fault("NO_DOMAIN", null);
        }
        switch (d.type) {
            case BLOCKED:
                return Walk.fault("BLOCKED", d);
            case IDENTITY:
                return Walk.bypass(d);
            default:
                long pa = d.iovaToPhys(iova);
                return pa == 0 ? Walk.fault("UNMAPPED", d) : Walk.translated(pa, d);
        }
    }

    @Override
    public BackendViommu viommuAlloc(BackendDomain nestingParent) {
        throw new IoasidException(Errno.EOPNOTSUPP, "no vIOMMU");
    }

    @Override
    public List<String> commandLog() {
        synchronized (log) {
            return new ArrayList<>(log);
        }
    }

    /** The domain the device's DMA without PASID goes to now. */
    Dom current(String device) {
        return rid.get(device);
    }

    /** Pages mapped in all its domains. */
    int pagesMapped() {
        synchronized (all) {
            return all.stream().mapToInt(d -> d.pages.size()).sum();
        }
    }
}
