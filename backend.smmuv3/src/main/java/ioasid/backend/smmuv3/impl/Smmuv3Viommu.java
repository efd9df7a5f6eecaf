package ioasid.backend.smmuv3.impl;

import java.util.TreeMap;

import ioasid.api.iommu.spi.BackendVdevice;
import ioasid.api.iommu.spi.BackendViommu;

/**
 * A virtual SMMU on a stage-2 nesting parent (arm_vsmmu): it shares the parent's VMID and keeps a
 * vSID table mapping the guest's StreamIDs to physical ones, used to forward the guest's
 * invalidation commands (IHI0070 4.3.7). Calls take the instance lock.
 */
final class Smmuv3Viommu implements BackendViommu {
    /** A vSID to pSID entry (the driver's vdevice). */
    final class Vdevice implements BackendVdevice {
        final Master master;
        final long vsid;
        boolean destroyed;

        Vdevice(Master master, long vsid) {
            this.master = master;
            this.vsid = vsid;
        }

        @Override
        public void destroy() {
            owner.vdeviceDestroy(Smmuv3Viommu.this, this);
        }

        @Override
        public String toString() {
            return "vsid " + Bits.hex(vsid) + " -> " + master.name() + " sid "
                    + Bits.hex(master.sid);
        }
    }

    final Smmuv3Backend owner;
    final Smmuv3Domain parent;
    /** The vSID table. */
    final TreeMap<Long, Vdevice> vsids = new TreeMap<>();
    boolean destroyed;

    Smmuv3Viommu(Smmuv3Backend owner, Smmuv3Domain parent) {
        this.owner = owner;
        this.parent = parent;
    }

    int vmid() {
        return parent.vmid;
    }

    @Override
    public BackendVdevice vdeviceInit(String device, long virtId) {
        return owner.vdeviceInit(this, device, virtId);
    }

    @Override
    public void destroy() {
        owner.viommuDestroy(this);
    }

    /** The physical StreamID behind a virtual one, or -1. */
    long physicalSid(long vsid) {
        return owner.physicalSid(this, vsid);
    }

    /**
     * Forwards a guest's invalidation commands (pairs of dwords) to the physical queue, with the
     * vSID replaced by the pSID and the VMID inserted (arm_vsmmu_convert_user_cmd).
     *
     * @return the number of commands issued, a CMD_SYNC ending them
     */
    int invalidate(long[] commands) {
        return owner.viommuInvalidate(this, commands);
    }

    @Override
    public String toString() {
        return "vSMMU vmid " + parent.vmid + " " + vsids.values();
    }
}
