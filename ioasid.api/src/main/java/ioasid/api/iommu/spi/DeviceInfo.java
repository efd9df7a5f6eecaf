package ioasid.api.iommu.spi;

import java.util.Objects;

import org.osgi.annotation.versioning.ProviderType;

/** One endpoint behind an IOMMU instance, as its backend describes it. */
@ProviderType
public final class DeviceInfo {
    private final String name;
    private final String groupKey;
    private final long streamId;
    private final int pasidBits;

    /**
     * @param name unique across the platform, for example a PCI address "0000:00:03.0"
     * @param groupKey devices of one backend with equal keys form one IOMMU group
     * @param streamId the ID the IOMMU sees the device's DMA with (SMMU StreamID, PCI RID)
     * @param pasidBits the device's PASID capability width, 0 without PASID support
     */
    public DeviceInfo(String name, String groupKey, long streamId, int pasidBits) {
        this.name = Objects.requireNonNull(name, "name");
        this.groupKey = Objects.requireNonNull(groupKey, "groupKey");
        if (name.isEmpty() || streamId < 0 || pasidBits < 0 || pasidBits > 20) {
            throw new IllegalArgumentException("device " + name + " sid " + streamId
                    + " pasid bits " + pasidBits);
        }
        this.streamId = streamId;
        this.pasidBits = pasidBits;
    }

    /**
     * Reads a device from its configuration form {@code name[;sid=N][;group=KEY][;pasid=BITS]},
     * numbers decimal or {@code 0x} hex. Without {@code sid} the device gets
     * {@code defaultStreamId}; without {@code group} a group of its own; without {@code pasid} no
     * PASID support. Example: {@code "0000:00:03.0;sid=0x18;group=gpu;pasid=20"}.
     *
     * @throws IllegalArgumentException naming what is wrong with the text
     */
    public static DeviceInfo parse(String spec, long defaultStreamId) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("empty device entry");
        }
        String[] parts = spec.trim().split("\\s*;\\s*");
        String name = parts[0];
        String group = name;
        long sid = defaultStreamId;
        int pasid = 0;
        for (int i = 1; i < parts.length; i++) {
            String[] kv = parts[i].split("\\s*=\\s*", 2);
            if (kv.length != 2 || kv[1].isEmpty()) {
                throw new IllegalArgumentException("device '" + spec + "': '" + parts[i]
                        + "' is not key=value");
            }
            try {
                switch (kv[0]) {
                    case "sid":
                        sid = Long.decode(kv[1]);
                        break;
                    case "group":
                        group = kv[1];
                        break;
                    case "pasid":
                        pasid = Integer.decode(kv[1]);
                        break;
                    default:
                        throw new IllegalArgumentException("device '" + spec + "': unknown key '"
                                + kv[0] + "' (sid, group, pasid)");
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("device '" + spec + "': bad number '" + kv[1]
                        + "'", e);
            }
        }
        return new DeviceInfo(name, group, sid, pasid);
    }

    public String name() {
        return name;
    }

    public String groupKey() {
        return groupKey;
    }

    public long streamId() {
        return streamId;
    }

    public int pasidBits() {
        return pasidBits;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DeviceInfo d && d.name.equals(name) && d.groupKey.equals(groupKey)
                && d.streamId == streamId && d.pasidBits == pasidBits;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, groupKey, streamId, pasidBits);
    }

    @Override
    public String toString() {
        return name + " [group " + groupKey + ", sid 0x" + Long.toHexString(streamId)
                + ", pasid bits " + pasidBits + "]";
    }
}
