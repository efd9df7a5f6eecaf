package ioasid.backend.vtd.impl;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.spi.BackendVdevice;
import ioasid.api.iommu.spi.BackendViommu;

/**
 * The driver's part of a vIOMMU on a nesting-parent domain: the table a VMM uses to turn the
 * guest's virtual RIDs into physical ones when it forwards invalidations and faults (rules 89-94).
 */
final class VtdViommu implements BackendViommu {
    static final int RIDS = 1 << 16;

    private final VtdDriver driver;
    private final VtdDomain parent;
    /** Virtual RID to physical RID, -1 when unused. */
    private final int[] virtToPhys = new int[RIDS];
    private final Map<String, Integer> virtByDevice = new HashMap<>();
    private boolean destroyed;

    VtdViommu(VtdDriver driver, VtdDomain parent) {
        this.driver = driver;
        this.parent = parent;
        Arrays.fill(virtToPhys, -1);
    }

    VtdDomain parent() {
        return parent;
    }

    @Override
    public synchronized BackendVdevice vdeviceInit(String device, long virtId) {
        if (destroyed) {
            throw new IoasidException(Errno.EINVAL, "vIOMMU destroyed");
        }
        if (virtId < 0 || virtId >= RIDS) {
            throw new IoasidException(Errno.EINVAL, "virtual RID 0x" + Long.toHexString(virtId)
                    + " is not a PCI requester ID");
        }
        int rid = driver.rid(device);
        int v = (int) virtId;
        if (virtToPhys[v] >= 0) {
            throw new IoasidException(Errno.EEXIST, "virtual RID " + DmarUnit.rid(v) + " taken");
        }
        if (virtByDevice.containsKey(device)) {
            throw new IoasidException(Errno.EEXIST, device + " has a virtual RID already");
        }
        virtToPhys[v] = rid;
        virtByDevice.put(device, v);
        return new BackendVdevice() {
            private boolean gone;

            @Override
            public void destroy() {
                synchronized (VtdViommu.this) {
                    if (!gone) {
                        gone = true;
                        virtToPhys[v] = -1;
                        virtByDevice.remove(device);
                    }
                }
            }

            @Override
            public String toString() {
                return "vdevice " + device + " as " + DmarUnit.rid(v);
            }
        };
    }

    /** The physical RID behind a virtual one, or -1. */
    synchronized int physicalRid(int virtRid) {
        return virtRid < 0 || virtRid >= RIDS ? -1 : virtToPhys[virtRid];
    }

    synchronized int vdevices() {
        return virtByDevice.size();
    }

    @Override
    public synchronized void destroy() {
        if (destroyed) {
            return;
        }
        destroyed = true;
        Arrays.fill(virtToPhys, -1);
        virtByDevice.clear();
        driver.viommuDestroyed(this);
    }

    synchronized boolean destroyed() {
        return destroyed;
    }
}
