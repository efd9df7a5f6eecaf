package ioasid.api.iommu.spi;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

import org.osgi.annotation.versioning.ProviderType;

import ioasid.api.iommu.DomainType;

/** What one IOMMU instance can do, as its driver reads it from the hardware. */
@ProviderType
public final class IommuCaps {
    private final String vendor;
    private final int maxPasids;
    private final long pgsizeBitmap;
    private final int iasBits;
    private final int oasBits;
    private final Set<DomainType> domainTypes;
    private final boolean defaultDomains;
    private final boolean nesting;

    private IommuCaps(Builder b) {
        this.vendor = Objects.requireNonNull(b.vendor, "vendor");
        this.maxPasids = b.maxPasids;
        this.pgsizeBitmap = b.pgsizeBitmap;
        this.iasBits = b.iasBits;
        this.oasBits = b.oasBits;
        this.domainTypes = Collections.unmodifiableSet(EnumSet.copyOf(b.domainTypes));
        this.defaultDomains = b.defaultDomains;
        this.nesting = b.nesting;
    }

    public static Builder builder(String vendor) {
        return new Builder(vendor);
    }

    /** "smmuv3", "vtd", "virtio". */
    public String vendor() {
        return vendor;
    }

    /**
     * How many PASIDs the IOMMU supports (SMMUv3 {@code 1 << SSIDSIZE}, VT-d
     * {@code 2 << ECAP.PSS}); 0 when it supports none. A device's limit is the smaller of this and
     * its own PASID capability.
     */
    public int maxPasids() {
        return maxPasids;
    }

    /** Supported page sizes, one bit per size (bit 12 is 4 KiB). */
    public long pgsizeBitmap() {
        return pgsizeBitmap;
    }

    /** Input (IOVA) address width. */
    public int iasBits() {
        return iasBits;
    }

    /** Output (physical) address width. */
    public int oasBits() {
        return oasBits;
    }

    /** Domain types {@link IommuBackend#domainAlloc} accepts. */
    public Set<DomainType> domainTypes() {
        return domainTypes;
    }

    /**
     * Whether the driver supports default domains. Without them (rule 59's older drivers, known
     * bug 3) a group starts with no domain and detach goes back to none.
     */
    public boolean defaultDomains() {
        return defaultDomains;
    }

    /** Whether paging domains can be nesting parents, so vIOMMUs can be built on them. */
    public boolean nesting() {
        return nesting;
    }

    public boolean supports(DomainType type) {
        return domainTypes.contains(type);
    }

    @Override
    public String toString() {
        return vendor + " [pasids " + maxPasids + ", pgsizes 0x" + Long.toHexString(pgsizeBitmap)
                + ", ias " + iasBits + ", oas " + oasBits + ", " + domainTypes
                + (defaultDomains ? "" : ", no default domains") + (nesting ? ", nesting" : "")
                + "]";
    }

    /** Builds capabilities; every field has a plain default. */
    @ProviderType
    public static final class Builder {
        private final String vendor;
        private int maxPasids;
        private long pgsizeBitmap = 1L << 12;
        private int iasBits = 48;
        private int oasBits = 48;
        private Set<DomainType> domainTypes = EnumSet.of(DomainType.BLOCKED,
                DomainType.IDENTITY, DomainType.UNMANAGED, DomainType.DMA, DomainType.DMA_FQ);
        private boolean defaultDomains = true;
        private boolean nesting;

        Builder(String vendor) {
            this.vendor = vendor;
        }

        public Builder maxPasids(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("maxPasids " + n);
            }
            this.maxPasids = n;
            return this;
        }

        public Builder pgsizeBitmap(long bitmap) {
            if (bitmap == 0) {
                throw new IllegalArgumentException("no page size");
            }
            this.pgsizeBitmap = bitmap;
            return this;
        }

        public Builder addressBits(int ias, int oas) {
            if (ias < 12 || ias > 64 || oas < 12 || oas > 64) {
                throw new IllegalArgumentException("address bits " + ias + "/" + oas);
            }
            this.iasBits = ias;
            this.oasBits = oas;
            return this;
        }

        public Builder domainTypes(Set<DomainType> types) {
            this.domainTypes = EnumSet.copyOf(types);
            return this;
        }

        public Builder defaultDomains(boolean supported) {
            this.defaultDomains = supported;
            return this;
        }

        public Builder nesting(boolean supported) {
            this.nesting = supported;
            return this;
        }

        public IommuCaps build() {
            return new IommuCaps(this);
        }
    }
}
