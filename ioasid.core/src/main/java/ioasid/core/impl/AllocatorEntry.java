package ioasid.core.impl;

import java.util.Comparator;

import ioasid.api.Errno;
import ioasid.api.spi.IoasidAllocator;

/** A custom allocator service as the core sees it. Fields change under the core lock. */
final class AllocatorEntry {
    /**
     * Highest ranking first, then registration order (lowest service ID). Compared, not negated:
     * a ranking of Integer.MIN_VALUE must come last.
     */
    static final Comparator<AllocatorEntry> PRECEDENCE = (a, b) -> a.ranking != b.ranking
            ? Integer.compare(b.ranking, a.ranking) : Long.compare(a.serviceId, b.serviceId);

    final long serviceId;
    final IoasidAllocator allocator;
    final String name;
    int ranking;
    /** Null while rejected. */
    HelperGroup group;
    Errno rejectErrno;
    String rejectReason;

    AllocatorEntry(long serviceId, IoasidAllocator allocator, String name, int ranking) {
        this.serviceId = serviceId;
        this.allocator = allocator;
        this.name = name;
        this.ranking = ranking;
    }

    @Override
    public String toString() {
        return name + " (service " + serviceId + ", ranking " + ranking + ")";
    }
}
