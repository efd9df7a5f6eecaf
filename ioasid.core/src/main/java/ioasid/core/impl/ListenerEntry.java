package ioasid.core.impl;

import java.util.Comparator;

import ioasid.api.TokenType;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidListener;

/** A listener service as the core sees it. */
final class ListenerEntry {
    static final ListenerEntry[] NONE = new ListenerEntry[0];
    static final int ALL_EVENTS = (1 << EventType.values().length) - 1;

    /**
     * Highest ranking first, then registration order (lowest service ID): D12. Compared, not
     * negated: a ranking of Integer.MIN_VALUE must come last.
     */
    static final Comparator<ListenerEntry> CHAIN_ORDER = (a, b) -> a.ranking != b.ranking
            ? Integer.compare(b.ranking, a.ranking) : Long.compare(a.serviceId, b.serviceId);

    final long serviceId;
    final IoasidListener listener;
    final String name;
    final boolean systemScope;
    final TokenType tokenType;
    final Object token;
    /** Bit {@code 1 << EventType.ordinal()} per event type wanted. */
    final int mask;
    /** Written under the core lock; read by the dispatcher. */
    volatile int ranking;
    /** The set joined (set scope), or null: pending or system-wide. Under the core lock. */
    SetImpl set;
    /** Unregistered: skipped by events still queued for it. */
    volatile boolean removed;
    /** Did not return within the stall timeout: skipped from then on. */
    volatile boolean stalled;
    /** Why the core refused it, or null. */
    String rejectErrno;
    String rejectReason;

    // Delivery record, written by the dispatching thread only.
    volatile long delivered;
    volatile long failures;
    volatile String lastFailure;

    ListenerEntry(long serviceId, IoasidListener listener, String name, int ranking,
            boolean systemScope, TokenType tokenType, Object token, int mask) {
        this.serviceId = serviceId;
        this.listener = listener;
        this.name = name;
        this.ranking = ranking;
        this.systemScope = systemScope;
        this.tokenType = tokenType;
        this.token = token;
        this.mask = mask;
    }

    boolean wants(EventType type) {
        return (mask & (1 << type.ordinal())) != 0;
    }

    @Override
    public String toString() {
        return name + " (service " + serviceId + ", ranking " + ranking + ")";
    }
}
