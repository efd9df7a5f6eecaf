package org.example.mockiommu;

import java.util.ArrayDeque;
import java.util.List;

/** The commands the mock issued, oldest first, the last 1024 kept. */
final class InvalidationLog {
    private static final int SIZE = 1024;
    private final ArrayDeque<String> entries = new ArrayDeque<>();

    synchronized void add(String entry) {
        if (entries.size() == SIZE) {
            entries.removeFirst();
        }
        entries.addLast(entry);
    }

    synchronized List<String> entries() {
        return List.copyOf(entries);
    }
}
