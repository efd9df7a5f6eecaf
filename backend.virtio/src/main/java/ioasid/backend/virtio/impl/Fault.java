package ioasid.backend.virtio.impl;

/**
 * A fault the device reported on the event virtqueue ({@code struct virtio_iommu_fault}).
 *
 * @param reason {@link #R_UNKNOWN}, {@link #R_DOMAIN} or {@link #R_MAPPING}
 * @param flags {@link #F_READ}, {@link #F_WRITE}, {@link #F_ADDRESS}
 */
record Fault(int reason, int flags, long endpoint, long address) {
    static final int R_UNKNOWN = 0;
    static final int R_DOMAIN = 1;
    static final int R_MAPPING = 2;

    static final int F_READ = 1;
    static final int F_WRITE = 1 << 1;
    static final int F_EXEC = 1 << 2;
    static final int F_ADDRESS = 1 << 8;

    @Override
    public boolean equals(Object o) {
        // written out, not generated: see "Records" in VirtioIommuBackend
        return o instanceof Fault f && f.reason == reason && f.flags == flags
                && f.endpoint == endpoint && f.address == address;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * reason + flags) + Long.hashCode(endpoint)) + Long.hashCode(address);
    }

    @Override
    public String toString() {
        String r = reason == R_UNKNOWN ? "unknown" : reason == R_DOMAIN ? "domain" : "page";
        return r + " fault from EP " + endpoint + " at " + Request.hex(address) + " ["
                + ((flags & F_READ) != 0 ? "R" : "") + ((flags & F_WRITE) != 0 ? "W" : "")
                + ((flags & F_EXEC) != 0 ? "X" : "") + "]";
    }
}
