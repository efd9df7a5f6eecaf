package ioasid.backend.vtd.impl;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Queued invalidation: a ring of 256 descriptors in unit memory (256-bit descriptors in scalable
 * mode, 128-bit in legacy mode, as {@code qi_shift} says), with head and tail registers and a
 * status page the invalidation-wait descriptors write to.
 *
 * <p>{@link #submit} is the driver's {@code qi_submit_sync}: it copies a batch into the ring, adds
 * an invalidation-wait descriptor, moves the tail, and lets the unit consume the ring up to the
 * tail, decoding every descriptor from the raw ring words. The batch is complete when the wait
 * descriptor has written {@link Command#QI_DONE}.
 *
 * <p>Every descriptor, and every write-buffer or cache-line flush noted beside the queue, is kept
 * in a bounded log in issue order.
 */
final class InvalidationQueue {
    static final int SLOTS = 256;
    static final int LOG_LIMIT = 4096;

    private final PhysMem mem;
    private final int qwordsPerDesc;
    private final long ringPa;
    private final long[] ring;
    private final long statusPa;
    private final long[] status;
    private final Consumer<Command> unit;
    private int head;
    private int tail;
    private long total;
    private final ArrayDeque<Command> log = new ArrayDeque<>();

    /**
     * @param scalable 256-bit descriptors when true
     * @param unit executes one descriptor as the hardware would (cache invalidation)
     */
    InvalidationQueue(PhysMem mem, boolean scalable, Consumer<Command> unit) {
        this.mem = mem;
        this.qwordsPerDesc = scalable ? 4 : 2;
        int pages = SLOTS * qwordsPerDesc * Long.BYTES / (int) PhysMem.PAGE_SIZE;
        this.ringPa = mem.alloc(pages);
        this.ring = mem.table(ringPa);
        this.statusPa = mem.alloc(1);
        this.status = mem.table(statusPa);
        this.unit = unit;
    }

    /** Submits a batch and waits for it; the batch ends with an invalidation-wait descriptor. */
    synchronized void submit(List<Command> batch) {
        if (batch.isEmpty()) {
            return;
        }
        if (batch.size() + 1 > SLOTS - 1) {
            throw new IllegalArgumentException("batch of " + batch.size() + " descriptors");
        }
        for (Command c : batch) {
            if (!c.op().queued()) {
                throw new IllegalArgumentException(c + " is not a queued descriptor");
            }
            put(c);
        }
        int waitSlot = tail;
        PhysMem.write(status, waitSlot, 0);
        put(Command.invWait(statusPa + (long) waitSlot * Long.BYTES));
        // the unit consumes everything up to the new tail
        while (head != tail) {
            int base = head * qwordsPerDesc;
            long qw0 = PhysMem.read(ring, base);
            long qw1 = PhysMem.read(ring, base + 1);
            long qw2 = qwordsPerDesc > 2 ? PhysMem.read(ring, base + 2) : 0;
            long qw3 = qwordsPerDesc > 2 ? PhysMem.read(ring, base + 3) : 0;
            Command c = new Command(Command.Op.ofType((int) (qw0 & 0xf)), qw0, qw1, qw2, qw3);
            if (c.op() == Command.Op.INV_WAIT) {
                long slot = (c.qw1() - statusPa) / Long.BYTES;
                PhysMem.write(status, (int) slot, c.statusData());
            } else {
                unit.accept(c);
            }
            head = (head + 1) % SLOTS;
        }
        if (PhysMem.read(status, waitSlot) != Command.QI_DONE) {
            throw new IllegalStateException("invalidation wait at slot " + waitSlot + " not done");
        }
    }

    void submit(Command... batch) {
        submit(List.of(batch));
    }

    private void put(Command c) {
        int base = tail * qwordsPerDesc;
        PhysMem.write(ring, base, c.qw0());
        PhysMem.write(ring, base + 1, c.qw1());
        if (qwordsPerDesc > 2) {
            PhysMem.write(ring, base + 2, c.qw2());
            PhysMem.write(ring, base + 3, c.qw3());
        }
        tail = (tail + 1) % SLOTS;
        record(c);
    }

    /** Logs an operation that does not go through the ring (WBF, CLFLUSH). */
    synchronized void note(Command c) {
        if (c.op().queued()) {
            throw new IllegalArgumentException(c + " belongs in the queue");
        }
        record(c);
    }

    private void record(Command c) {
        log.addLast(c);
        total++;
        if (log.size() > LOG_LIMIT) {
            log.removeFirst();
        }
    }

    /** How many commands were logged so far; a mark for {@link #since}. */
    synchronized long mark() {
        return total;
    }

    /** Commands logged since a mark, oldest first (as far as the bounded log still holds them). */
    synchronized List<Command> since(long mark) {
        long first = total - log.size();
        List<Command> out = new ArrayList<>();
        long i = first;
        for (Command c : log) {
            if (i++ >= mark) {
                out.add(c);
            }
        }
        return out;
    }

    synchronized List<String> strings() {
        List<String> out = new ArrayList<>(log.size());
        for (Command c : log) {
            out.add(c.toString());
        }
        return out;
    }

    synchronized int head() {
        return head;
    }

    synchronized int tail() {
        return tail;
    }

    long ringAddress() {
        return ringPa;
    }

    int descriptorBits() {
        return qwordsPerDesc * 64;
    }

    /** The raw ring words of one slot, as the unit reads them. */
    synchronized long[] slot(int index) {
        long[] out = new long[qwordsPerDesc];
        for (int i = 0; i < qwordsPerDesc; i++) {
            out[i] = PhysMem.read(ring, index * qwordsPerDesc + i);
        }
        return out;
    }

    void release() {
        mem.free(ringPa);
        mem.free(statusPa);
    }
}
