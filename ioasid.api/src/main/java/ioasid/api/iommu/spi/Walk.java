package ioasid.api.iommu.spi;

import java.util.Objects;

import org.osgi.annotation.versioning.ProviderType;

import ioasid.api.iommu.Translation;

/** A backend's answer to a translation probe, naming the domain whose tables decided. */
@ProviderType
public final class Walk {
    private final Translation.Outcome outcome;
    private final long physAddr;
    private final String fault;
    private final BackendDomain domain;

    private Walk(Translation.Outcome outcome, long physAddr, String fault, BackendDomain domain) {
        this.outcome = outcome;
        this.physAddr = physAddr;
        this.fault = fault;
        this.domain = domain;
    }

    /** Translated by {@code domain}'s page table (or its IOTLB) to {@code physAddr}. */
    public static Walk translated(long physAddr, BackendDomain domain) {
        return new Walk(Translation.Outcome.TRANSLATED, physAddr, null,
                Objects.requireNonNull(domain, "domain"));
    }

    /** Passed through untranslated; {@code domain} may be null (bypass without a domain). */
    public static Walk bypass(BackendDomain domain) {
        return new Walk(Translation.Outcome.BYPASS, -1, null, domain);
    }

    /** Faulted with a reason in the hardware's terms; {@code domain} may be null. */
    public static Walk fault(String reason, BackendDomain domain) {
        return new Walk(Translation.Outcome.FAULT, -1, Objects.requireNonNull(reason, "reason"),
                domain);
    }

    public Translation.Outcome outcome() {
        return outcome;
    }

    public long physAddr() {
        return physAddr;
    }

    public String fault() {
        return fault;
    }

    public BackendDomain domain() {
        return domain;
    }

    @Override
    public String toString() {
        return outcome + (fault != null ? " " + fault : "")
                + (physAddr >= 0 ? " 0x" + Long.toHexString(physAddr) : "");
    }
}
