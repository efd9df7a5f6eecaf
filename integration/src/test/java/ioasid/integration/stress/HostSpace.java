package ioasid.integration.stress;

import java.util.BitSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.IntBinaryOperator;
import java.util.function.IntConsumer;

import ioasid.api.Ioasid;

/**
 * The ID space behind the allocator bundles built at test time: lowest-free in {@code [min, max]},
 * like a host answering a vIOMMU. It records what it handed out, so a test can tell whether the
 * platform returned every ID exactly once ({@link #outstanding}, {@link #badFrees}). A gate makes
 * the next allocations block until the test opens it (an allocator stuck in its hardware).
 */
final class HostSpace implements IntBinaryOperator, IntConsumer {
    private final BitSet used = new BitSet();
    private long allocs;
    private long frees;
    private long badFrees;
    /** When set, alloc waits for it (counting {@link #entered} down first). */
    volatile CountDownLatch gate;
    volatile CountDownLatch entered;

    @Override
    public int applyAsInt(int min, int max) {
        CountDownLatch g = gate;
        if (g != null) {
            CountDownLatch in = entered;
            if (in != null) {
                in.countDown();
            }
            try {
                if (!g.await(60, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("host gate never opened");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted at the host gate");
            }
        }
        synchronized (this) {
            int id = used.nextClearBit(Math.max(min, 1));
            if (id > max) {
                return Ioasid.INVALID;
            }
            used.set(id);
            allocs++;
            return id;
        }
    }

    @Override
    public synchronized void accept(int id) {
        frees++;
        if (id < 1 || !used.get(id)) {
            badFrees++; // freed twice, or never handed out
            return;
        }
        used.clear(id);
    }

    synchronized int outstanding() {
        return used.cardinality();
    }

    synchronized boolean holds(int id) {
        return used.get(id);
    }

    synchronized long allocs() {
        return allocs;
    }

    synchronized long frees() {
        return frees;
    }

    synchronized long badFrees() {
        return badFrees;
    }

    @Override
    public synchronized String toString() {
        return "host: " + allocs + " allocs, " + frees + " frees, " + badFrees + " bad frees, "
                + used.cardinality() + " outstanding " + (used.cardinality() <= 20 ? used : "");
    }
}
