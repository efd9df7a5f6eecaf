package ioasid.health.impl;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * How much a monotonic counter (allocator faults, listener failures) grew recently: within a
 * window of time, or, with a window of zero, since the previous reading. A check reads it once
 * per execution; the counters themselves live in the core and only ever grow, so the first
 * reading is the baseline and reports nothing.
 */
final class CounterWindow {
    private static final class Sample {
        final long at;
        final long value;

        Sample(long at, long value) {
            this.at = at;
            this.value = value;
        }
    }

    private final Deque<Sample> samples = new ArrayDeque<>();

    /**
     * Records a reading and answers the growth over the window.
     *
     * @param nowNanos the reading's time (System.nanoTime())
     * @param value the counter now
     * @param windowNanos the window, 0 for "since the previous reading"
     */
    synchronized long growth(long nowNanos, long value, long windowNanos) {
        Sample last = samples.peekLast();
        if (last != null && value < last.value) {
            // a new core started counting from zero: start again with it
            samples.clear();
            last = null;
        }
        long growth;
        if (last == null) {
            growth = 0;
        } else if (windowNanos <= 0) {
            growth = value - last.value;
            samples.clear();
        } else {
            // The baseline is the newest reading at or before the window's start (or the oldest
            // one, while the history is shorter than the window); what the counter did between
            // it and the start is counted too: an execution interval at most, and a fault is
            // better reported late than missed.
            long start = nowNanos - windowNanos;
            while (samples.size() > 1) {
                Sample first = samples.pollFirst();
                if (samples.peekFirst().at > start) {
                    samples.addFirst(first);
                    break;
                }
            }
            growth = value - samples.peekFirst().value;
        }
        samples.addLast(new Sample(nowNanos, value));
        return growth;
    }
}
