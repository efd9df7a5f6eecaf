package ioasid.backend.smmuv3.impl;

import java.util.TreeMap;

import ioasid.api.iommu.spi.DeviceInfo;

/** One endpoint behind the SMMU (arm_smmu_master): its StreamID, CD table and domains. */
final class Master {
    final DeviceInfo info;
    final long sid;
    /** log2 of its contexts: min(SSIDSIZE, device PASID bits), at most 10 without CD2L. */
    final int ssidBits;
    /** The domain DMA without PASID goes to; null before the first attach. */
    Smmuv3Domain ridDomain;
    /** Domains by SSID (PASID), 0 excluded. */
    final TreeMap<Integer, Smmuv3Domain> pasids = new TreeMap<>();
    CdTable cdTable;

    Master(DeviceInfo info, int ssidBits) {
        this.info = info;
        this.sid = info.streamId();
        this.ssidBits = ssidBits;
    }

    String name() {
        return info.name();
    }

    @Override
    public String toString() {
        return info.name();
    }
}
