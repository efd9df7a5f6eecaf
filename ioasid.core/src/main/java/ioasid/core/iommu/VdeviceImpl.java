package ioasid.core.iommu;

import ioasid.api.iommu.Vdevice;
import ioasid.api.iommu.Viommu;
import ioasid.api.iommu.spi.BackendVdevice;

/** A device's virtual ID in one vIOMMU. */
final class VdeviceImpl implements Vdevice {
    final ViommuImpl viommu;
    final DeviceEntry device;
    final long virtId;
    volatile BackendVdevice hw;
    volatile boolean live = true;
    /** Destroyed by the core when its device went away, not by its owner (D22). */
    volatile boolean tombstone;

    VdeviceImpl(ViommuImpl viommu, DeviceEntry device, long virtId) {
        this.viommu = viommu;
        this.device = device;
        this.virtId = virtId;
    }

    @Override
    public Viommu viommu() {
        return viommu;
    }

    @Override
    public String device() {
        return device.name;
    }

    @Override
    public long virtId() {
        return virtId;
    }

    @Override
    public boolean live() {
        return live;
    }

    @Override
    public String toString() {
        return "vDevice " + Long.toUnsignedString(virtId, 16) + " = " + device.name
                + (tombstone ? " (tombstone)" : live ? "" : " (destroyed)");
    }
}
