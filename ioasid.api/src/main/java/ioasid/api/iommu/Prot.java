package ioasid.api.iommu;

import org.osgi.annotation.versioning.ProviderType;

/** Mapping protection flags, the kernel's IOMMU_* values. */
@ProviderType
public final class Prot {
    public static final int READ = 1;
    public static final int WRITE = 1 << 1;
    public static final int CACHE = 1 << 2;
    public static final int NOEXEC = 1 << 3;
    public static final int MMIO = 1 << 4;
    public static final int PRIV = 1 << 5;
    /** Every flag defined. */
    public static final int ALL = (1 << 6) - 1;

    private Prot() {
    }

    /** A short form such as "rw" or "r-". */
    public static String toString(int prot) {
        return ((prot & READ) != 0 ? "r" : "-") + ((prot & WRITE) != 0 ? "w" : "-");
    }
}
