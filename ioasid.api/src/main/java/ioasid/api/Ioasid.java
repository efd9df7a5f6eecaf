package ioasid.api;

import org.osgi.annotation.versioning.ProviderType;

/** Constants of the IOASID space (rules 1, 33; decision D1). */
@ProviderType
public final class Ioasid {
    /** {@code (ioasid_t)-1}: no ID, no SPID. */
    public static final int INVALID = -1;
    /** ID 0 is reserved for DMA without a PASID and is never handed out. */
    public static final int NO_PASID = 0;
    /** The PCIe PASID width the platform defaults to. */
    public static final int DEFAULT_BITS = 20;
    /** The largest ID of a 20-bit space, inclusive. */
    public static final int MAX_ID = (1 << DEFAULT_BITS) - 1;

    private Ioasid() {
    }
}
