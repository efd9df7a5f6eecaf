package ioasid.backend.virtio.impl;

/**
 * A request on the request virtqueue, with the fields of its {@code struct virtio_iommu_req_*}.
 * Domain and endpoint IDs are 32-bit unsigned (held in a long); addresses are 64-bit unsigned.
 * The driver and the device share nothing but these objects and the status the device returns.
 */
sealed interface Request {
    int T_ATTACH = 0x01;
    int T_DETACH = 0x02;
    int T_MAP = 0x03;
    int T_UNMAP = 0x04;
    int T_PROBE = 0x05;

    /** ATTACH flag: the domain bypasses translation (later headers, with BYPASS_CONFIG). */
    int ATTACH_F_BYPASS = 1;

    int MAP_F_READ = 1;
    int MAP_F_WRITE = 1 << 1;
    /** Bit 2 in current headers (bit 3 in v0.9, where EXEC sat at bit 2). */
    int MAP_F_MMIO = 1 << 2;
    int MAP_F_MASK = MAP_F_READ | MAP_F_WRITE | MAP_F_MMIO;

    /** The request's type code. */
    int type();

    private static long u32(long v, String what) {
        if (v < 0 || v > 0xffff_ffffL) {
            throw new IllegalArgumentException(what + " " + v + " is not a 32-bit ID");
        }
        return v;
    }

    /** Formats MAP flags as logs show them: "rw", "r-", "--", with " mmio" when set. */
    static String flagString(int flags) {
        return ((flags & MAP_F_READ) != 0 ? "r" : "-") + ((flags & MAP_F_WRITE) != 0 ? "w" : "-")
                + ((flags & MAP_F_MMIO) != 0 ? " mmio" : "")
                + ((flags & ~MAP_F_MASK) != 0 ? " 0x" + Integer.toHexString(flags & ~MAP_F_MASK)
                        : "");
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** Attaches an endpoint to a domain, creating the domain on the device if it is new. */
    record Attach(long domain, long endpoint, int flags) implements Request {
        public Attach {
            u32(domain, "domain");
            u32(endpoint, "endpoint");
        }

        @Override
        public int type() {
            return T_ATTACH;
        }

        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VirtioIommuBackend
            return o instanceof Attach a && a.domain == domain && a.endpoint == endpoint
                    && a.flags == flags;
        }

        @Override
        public int hashCode() {
            int h = Long.hashCode(domain);
            h = 31 * h + Long.hashCode(endpoint);
            return 31 * h + flags;
        }

        @Override
        public String toString() {
            return "ATTACH domain=" + domain + " endpoint=" + hex(endpoint) + " flags="
                    + ((flags & ATTACH_F_BYPASS) != 0 ? "bypass" : "0")
                    + ((flags & ~ATTACH_F_BYPASS) != 0
                            ? "|" + hex(flags & ~ATTACH_F_BYPASS & 0xffff_ffffL) : "");
        }
    }

    /** Detaches an endpoint from the domain it is attached to. */
    record Detach(long domain, long endpoint) implements Request {
        public Detach {
            u32(domain, "domain");
            u32(endpoint, "endpoint");
        }

        @Override
        public int type() {
            return T_DETACH;
        }

        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VirtioIommuBackend
            return o instanceof Detach d && d.domain == domain && d.endpoint == endpoint;
        }

        @Override
        public int hashCode() {
            int h = Long.hashCode(domain);
            return 31 * h + Long.hashCode(endpoint);
        }

        @Override
        public String toString() {
            return "DETACH domain=" + domain + " endpoint=" + hex(endpoint);
        }
    }

    /** Maps {@code [virtStart, virtEnd]} (inclusive) to {@code physStart}. */
    record Map(long domain, long virtStart, long virtEnd, long physStart, int flags)
            implements Request {
        public Map {
            u32(domain, "domain");
        }

        @Override
        public int type() {
            return T_MAP;
        }

        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VirtioIommuBackend
            return o instanceof Map m && m.domain == domain && m.virtStart == virtStart
                    && m.virtEnd == virtEnd && m.physStart == physStart && m.flags == flags;
        }

        @Override
        public int hashCode() {
            int h = Long.hashCode(domain);
            h = 31 * h + Long.hashCode(virtStart);
            h = 31 * h + Long.hashCode(virtEnd);
            h = 31 * h + Long.hashCode(physStart);
            return 31 * h + flags;
        }

        @Override
        public String toString() {
            return "MAP domain=" + domain + " [" + hex(virtStart) + "," + hex(virtEnd) + "] -> "
                    + hex(physStart) + " " + flagString(flags);
        }
    }

    /** Unmaps every mapping inside {@code [virtStart, virtEnd]} (inclusive). */
    record Unmap(long domain, long virtStart, long virtEnd) implements Request {
        public Unmap {
            u32(domain, "domain");
        }

        @Override
        public int type() {
            return T_UNMAP;
        }

        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VirtioIommuBackend
            return o instanceof Unmap u && u.domain == domain && u.virtStart == virtStart
                    && u.virtEnd == virtEnd;
        }

        @Override
        public int hashCode() {
            int h = Long.hashCode(domain);
            h = 31 * h + Long.hashCode(virtStart);
            return 31 * h + Long.hashCode(virtEnd);
        }

        @Override
        public String toString() {
            return "UNMAP domain=" + domain + " [" + hex(virtStart) + "," + hex(virtEnd) + "]";
        }
    }

    /** Asks for an endpoint's properties (reserved regions). */
    record Probe(long endpoint) implements Request {
        public Probe {
            u32(endpoint, "endpoint");
        }

        @Override
        public int type() {
            return T_PROBE;
        }

        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VirtioIommuBackend
            return o instanceof Probe p && p.endpoint == endpoint;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(endpoint);
        }

        @Override
        public String toString() {
            return "PROBE endpoint=" + hex(endpoint);
        }
    }

    /**
     * A request of a type the model has no fields for, such as the PASID extension's
     * ATTACH_TABLE (0x06), which was never merged.
     */
    record Other(int type) implements Request {
        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VirtioIommuBackend
            return o instanceof Other r && r.type == type;
        }

        @Override
        public int hashCode() {
            return type;
        }

        @Override
        public String toString() {
            return "REQUEST type=" + hex(type & 0xffL);
        }
    }
}
