package ioasid.backend.virtio.impl;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * virtio-iommu feature bits ({@code VIRTIO_IOMMU_F_*}). The unmerged PASID extension reused
 * bit 6 for ATTACH_TABLE; it is not modelled (no PASID support).
 */
enum Feature {
    INPUT_RANGE(0),
    DOMAIN_RANGE(1),
    MAP_UNMAP(2),
    /** Legacy global bypass of unattached endpoints; Linux never accepts it. */
    BYPASS(3),
    PROBE(4),
    MMIO(5),
    /** config.bypass and ATTACH_F_BYPASS. */
    BYPASS_CONFIG(6);

    final int bit;

    Feature(int bit) {
        this.bit = bit;
    }

    long mask() {
        return 1L << bit;
    }

    boolean in(long features) {
        return (features & mask()) != 0;
    }

    /** The features Linux's driver lists in its feature table, so the only ones it accepts. */
    static final long LINUX_DRIVER = INPUT_RANGE.mask() | DOMAIN_RANGE.mask() | MAP_UNMAP.mask()
            | PROBE.mask() | MMIO.mask() | BYPASS_CONFIG.mask();

    /** What QEMU's device offers. */
    static final long QEMU_DEVICE = LINUX_DRIVER;

    /** Reads names such as "MAP_UNMAP" (case-insensitive) into a bit mask. */
    static long parse(String[] names) {
        long mask = 0;
        for (String n : names) {
            if (n == null || n.isBlank()) {
                continue;
            }
            try {
                mask |= valueOf(n.trim().toUpperCase(Locale.ROOT)).mask();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown virtio-iommu feature '" + n
                        + "' (INPUT_RANGE, DOMAIN_RANGE, MAP_UNMAP, BYPASS, PROBE, MMIO, "
                        + "BYPASS_CONFIG)", e);
            }
        }
        return mask;
    }

    static List<String> names(long mask) {
        List<String> out = new ArrayList<>();
        for (Feature f : values()) {
            if (f.in(mask)) {
                out.add(f.name());
            }
        }
        return out;
    }
}
