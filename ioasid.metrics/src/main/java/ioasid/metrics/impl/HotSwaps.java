package ioasid.metrics.impl;

import java.util.Map;
import java.util.TreeMap;

/**
 * Arrivals and departures of IOMMU backend services by instance name, as this bundle saw them
 * from its start: the hot-swap counts. Counted from service events, not from the IOMMU core, so
 * a departed backend keeps its line.
 */
final class HotSwaps {
    private final Map<String, long[]> counts = new TreeMap<>();

    synchronized void arrived(String name) {
        counts.computeIfAbsent(name, n -> new long[2])[0]++;
    }

    synchronized void departed(String name) {
        counts.computeIfAbsent(name, n -> new long[2])[1]++;
    }

    /** A copy: name to {arrivals, departures}. */
    synchronized Map<String, long[]> counts() {
        Map<String, long[]> copy = new TreeMap<>();
        counts.forEach((k, v) -> copy.put(k, v.clone()));
        return copy;
    }
}
