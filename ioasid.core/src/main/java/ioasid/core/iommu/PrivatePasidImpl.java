package ioasid.core.iommu;

import java.util.List;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.PrivatePasid;
import ioasid.api.iommu.Segment;
import ioasid.api.iommu.spi.IotlbGather;

/**
 * A private PASID: its domain's page table, reached without a lookup (seed 002). The gather
 * collects what unmapFast and tlbRangeAdd leave to sync.
 */
final class PrivatePasidImpl implements PrivatePasid {
    /** Where its page-table calls go, directly (the hot path). */
    final DataPath dataPath;
    final DeviceEntry device;
    final IoasidHandle pasid;
    final DomainImpl domain;
    private final IotlbGather gather = new IotlbGather();
    volatile boolean live = true;

    PrivatePasidImpl(DataPath dataPath, DeviceEntry device, IoasidHandle pasid,
            DomainImpl domain) {
        this.dataPath = dataPath;
        this.device = device;
        this.pasid = pasid;
        this.domain = domain;
    }

    private void checkLive() {
        if (!live) {
            throw new IoasidException(Errno.ENODEV, this + " was freed or its backend left");
        }
    }

    @Override
    public String device() {
        return device.name;
    }

    @Override
    public IoasidHandle pasid() {
        return pasid;
    }

    @Override
    public IommuDomain domain() {
        return domain;
    }

    @Override
    public void map(long iova, long paddr, long size, int prot) {
        checkLive();
        dataPath.map(domain, iova, paddr, size, prot);
    }

    @Override
    public long mapSg(long iova, List<Segment> segments, int prot) {
        checkLive();
        if (segments == null || segments.isEmpty()) {
            throw new IoasidException(Errno.EINVAL, "empty scatter-gather list");
        }
        long done = 0;
        try {
            for (Segment s : segments) {
                if (s == null) {
                    throw new IoasidException(Errno.EINVAL, "null segment");
                }
                dataPath.map(domain, iova + done, s.paddr(), s.length(), prot);
                done += s.length();
            }
        } catch (RuntimeException e) {
            if (done > 0) {
                dataPath.unmap(domain, iova, done); // nothing of a failed map_sg stays mapped
            }
            throw e;
        }
        return done;
    }

    @Override
    public long unmap(long iova, long size) {
        checkLive();
        return dataPath.unmap(domain, iova, size);
    }

    @Override
    public long unmapFast(long iova, long size) {
        checkLive();
        synchronized (gather) {
            return dataPath.unmapFast(domain, iova, size, gather);
        }
    }

    @Override
    public long iovaToPhys(long iova) {
        checkLive();
        return dataPath.iovaToPhys(domain, iova);
    }

    @Override
    public void flushTlbAll() {
        checkLive();
        synchronized (gather) {
            dataPath.flushIotlbAll(domain);
            gather.reset();
        }
    }

    @Override
    public void tlbRangeAdd(long iova, long size) {
        checkLive();
        if (size <= 0 || iova < 0) {
            throw new IoasidException(Errno.EINVAL, "range 0x" + Long.toHexString(iova) + "+0x"
                    + Long.toHexString(size));
        }
        synchronized (gather) {
            gather.add(iova, size, Long.lowestOneBit(domain.pgsizeBitmap()));
        }
    }

    @Override
    public void sync() {
        checkLive();
        synchronized (gather) {
            dataPath.iotlbSync(domain, gather);
        }
    }

    @Override
    public boolean live() {
        return live;
    }

    @Override
    public String toString() {
        return "private PASID " + pasid.id() + " on " + device.name + (live ? "" : " (freed)");
    }
}
