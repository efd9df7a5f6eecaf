package ioasid.api.iommu;

import java.util.Objects;

import org.osgi.annotation.versioning.ProviderType;

/**
 * What the IOMMU would do with one DMA right now (decision D18): translate it to a physical
 * address, let it through untranslated, or fault. It names the domain whose tables decided.
 */
@ProviderType
public final class Translation {
    /** The outcome of a probe. */
    public enum Outcome {
        TRANSLATED,
        BYPASS,
        FAULT
    }

    private final Outcome outcome;
    private final long physAddr;
    private final String fault;
    private final int domainId;
    private final DomainType domainType;

    public Translation(Outcome outcome, long physAddr, String fault, int domainId,
            DomainType domainType) {
        this.outcome = Objects.requireNonNull(outcome, "outcome");
        this.physAddr = physAddr;
        this.fault = fault;
        this.domainId = domainId;
        this.domainType = domainType;
    }

    public Outcome outcome() {
        return outcome;
    }

    /** The physical address for TRANSLATED, the input address for BYPASS, else -1. */
    public long physAddr() {
        return physAddr;
    }

    /** The fault reason in the hardware's terms (for example "C_BAD_CD"), or null. */
    public String fault() {
        return fault;
    }

    /** The domain that decided, or -1 when none did (no domain, no IOMMU). */
    public int domainId() {
        return domainId;
    }

    /** That domain's type, or null. */
    public DomainType domainType() {
        return domainType;
    }

    public boolean translated() {
        return outcome == Outcome.TRANSLATED;
    }

    @Override
    public String toString() {
        switch (outcome) {
            case TRANSLATED:
                return "TRANSLATED to 0x" + Long.toHexString(physAddr) + " by domain " + domainId;
            case BYPASS:
                return "BYPASS" + (domainId >= 0 ? " by domain " + domainId : "");
            default:
                return "FAULT " + fault + (domainId >= 0 ? " in domain " + domainId : "");
        }
    }
}
