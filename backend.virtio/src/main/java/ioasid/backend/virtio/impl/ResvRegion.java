package ioasid.backend.virtio.impl;

import java.util.Locale;

/**
 * A reserved memory region, as the device returns it in a PROBE RESV_MEM property
 * ({@code struct virtio_iommu_probe_resv_mem}: subtype, start, end inclusive).
 *
 * @param subtype {@link #RESERVED} or {@link #MSI}
 */
record ResvRegion(int subtype, long start, long end) {
    /** No DMA may go there; translation faults. */
    static final int RESERVED = 0;
    /** A hardware MSI doorbell; DMA passes through untranslated. */
    static final int MSI = 1;
    /** PROBE property type of a reserved region. */
    static final int PROBE_T_RESV_MEM = 1;
    /** Bytes one RESV_MEM property takes in the probe buffer: 4 head, 4 subtype, 16 range. */
    static final int PROPERTY_SIZE = 24;

    ResvRegion {
        if (Long.compareUnsigned(start, end) > 0) {
            throw new IllegalArgumentException("reserved region end " + Request.hex(end)
                    + " before start " + Request.hex(start));
        }
    }

    boolean contains(long addr) {
        return Long.compareUnsigned(addr, start) >= 0 && Long.compareUnsigned(addr, end) <= 0;
    }

    boolean overlaps(long first, long last) {
        return Long.compareUnsigned(first, end) <= 0 && Long.compareUnsigned(last, start) >= 0;
    }

    /** Reads {@code msi:0xfee00000-0xfeefffff} or {@code reserved:START-END}. */
    static ResvRegion parse(String spec) {
        String s = spec.trim();
        int colon = s.indexOf(':');
        int dash = s.indexOf('-', colon + 1);
        if (colon < 0 || dash < 0) {
            throw new IllegalArgumentException("reserved region '" + spec
                    + "' is not msi:START-END or reserved:START-END");
        }
        String kind = s.substring(0, colon).trim().toLowerCase(Locale.ROOT);
        int subtype;
        if (kind.equals("msi")) {
            subtype = MSI;
        } else if (kind.equals("reserved")) {
            subtype = RESERVED;
        } else {
            throw new IllegalArgumentException("reserved region '" + spec + "': kind '" + kind
                    + "' is not msi or reserved");
        }
        return new ResvRegion(subtype, VirtioIommuParams.number(s.substring(colon + 1, dash), spec),
                VirtioIommuParams.number(s.substring(dash + 1), spec));
    }

    @Override
    public boolean equals(Object o) {
        // written out, not generated: see "Records" in VirtioIommuBackend
        return o instanceof ResvRegion r && r.subtype == subtype && r.start == start
                && r.end == end;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * subtype + Long.hashCode(start)) + Long.hashCode(end);
    }

    @Override
    public String toString() {
        return (subtype == MSI ? "msi" : subtype == RESERVED ? "reserved" : "subtype " + subtype)
                + " [" + Request.hex(start) + "," + Request.hex(end) + "]";
    }
}
