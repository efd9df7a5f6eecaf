package ioasid.backend.smmuv3.impl;

import java.util.Arrays;
import java.util.TreeMap;

import ioasid.api.iommu.spi.DeviceInfo;

/*
 * One endpoint behind the SMMU (arm_smmu_master): its StreamID, CD table and domains.
 *
 * Rules (kernel-rules.md section 2 "ARM SMMUv3"):
 *  1. A master gets min(SSIDSIZE, its PASID bits) SSID bits, at most 10 when the SMMU lacks
 *     IDR0.CD2L (CTXDESC_LINEAR_CDMAX).
 *
 * Guarded by the instance lock (Smmuv3Driver.lock).
 */
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

    private Master(DeviceInfo info, int ssidBits) {
        this.info = info;
        this.sid = info.streamId();
        this.ssidBits = ssidBits;
    }

    /** arm_smmu_probe_device: the master, with the SSID bits of rule 1. */
    static Master probe(DeviceInfo info, Smmuv3Params params) {
        int bits = Math.min(params.ssidBits, info.pasidBits());
        if (!params.cd2l) {
            bits = Math.min(bits, Cd.LINEAR_CDMAX);
        }
        return new Master(info, bits);
    }

    /** The master, its STE, domains and CD table, for state snapshots. */
    void describe(StringBuilder b, long[] ste) {
        b.append(name()).append(" sid=").append(Bits.hex(sid)).append(" ste=")
                .append(Arrays.toString(ste)).append(" rid=")
                .append(ridDomain == null ? "-" : ridDomain.id).append(" pasids=");
        pasids.forEach((p, d) -> b.append(p).append(':').append(d.id).append(','));
        if (cdTable != null) {
            cdTable.describe(b);
        }
    }

    String name() {
        return info.name();
    }

    @Override
    public String toString() {
        return info.name();
    }
}
