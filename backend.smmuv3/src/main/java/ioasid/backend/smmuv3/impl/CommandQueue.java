package ioasid.backend.smmuv3.impl;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

/*
 * The SMMU command queue: a ring of 16-byte entries written by the driver (producer) and consumed
 * by the SMMU. The model consumes commands when a CMD_SYNC is issued: until the driver syncs,
 * nothing it queued is guaranteed to have taken effect, so an invalidation without its CMD_SYNC
 * leaves the caches stale, as on hardware that has not got round to it yet.
 *
 * Every command is recorded in order (decoded records for tests, strings for operators), bounded
 * to the most recent {@code logSize}. A batch ends with CMD_SYNC (rule 99).
 *
 * Guarded by the instance lock (Smmuv3Driver.lock).
 */
final class CommandQueue {
    /** log2 of the number of ring entries (the kernel asks for up to 2^19; 2^8 keeps it small). */
    static final int LOG2_ENTRIES = 8;

    private final long[] ring = new long[2 << LOG2_ENTRIES];
    private final Consumer<Command> consumer;
    private final int logSize;
    private final ArrayDeque<Command> log = new ArrayDeque<>();
    private final List<Command> pending = new ArrayList<>();
    private long issued;
    private int prod;
    /** Test hook: commands the "driver" forgets to issue. */
    private Predicate<Command> drop = c -> false;
    /** Test hook: runs after each command is queued, under the instance lock. */
    private Consumer<Command> observer = c -> { };

    CommandQueue(Consumer<Command> consumer, int logSize) {
        this.consumer = consumer;
        this.logSize = Math.max(1, logSize);
    }

    /** Queues one command; a CMD_SYNC consumes everything queued before it, in order. */
    void issue(Command c) {
        if (drop.test(c)) {
            return;
        }
        long[] enc = c.encode();
        int slot = prod & ((1 << LOG2_ENTRIES) - 1);
        ring[2 * slot] = enc[0];
        ring[2 * slot + 1] = enc[1];
        prod = (prod + 1) & ((2 << LOG2_ENTRIES) - 1); // index plus wrap bit, as Q_IDX/Q_WRP
        issued++;
        log.addLast(c);
        if (log.size() > logSize) {
            log.removeFirst();
        }
        if (c.op() == Command.Op.CMD_SYNC) {
            List<Command> batch = new ArrayList<>(pending);
            pending.clear();
            for (Command p : batch) {
                consumer.accept(p);
            }
        } else {
            pending.add(c);
        }
        observer.accept(c);
    }

    /** Queues a batch and ends it with CMD_SYNC (arm_smmu_cmdq_batch_submit). */
    void submit(List<Command> batch) {
        for (Command c : batch) {
            issue(c);
        }
        issue(Command.sync());
    }

    /** How many commands were issued since the queue was created. */
    long issued() {
        return issued;
    }

    /** The retained commands issued after {@code mark} (a value of {@link #issued()}). */
    List<Command> since(long mark) {
        int skip = (int) Math.max(0, log.size() - (issued - mark));
        List<Command> out = new ArrayList<>();
        int i = 0;
        for (Command c : log) {
            if (i++ >= skip) {
                out.add(c);
            }
        }
        return out;
    }

    List<String> strings() {
        List<String> out = new ArrayList<>(log.size());
        for (Command c : log) {
            out.add(c.toString());
        }
        return out;
    }

    /** Commands queued but not yet consumed by a CMD_SYNC. */
    int pendingCount() {
        return pending.size();
    }

    /** The raw ring entry {@code index} (two dwords). */
    long[] entry(int index) {
        int slot = index & ((1 << LOG2_ENTRIES) - 1);
        return new long[] {ring[2 * slot], ring[2 * slot + 1]};
    }

    /** The producer index, wrap bit included. */
    int prod() {
        return prod;
    }

    void drop(Predicate<Command> p) {
        this.drop = p == null ? c -> false : p;
    }

    void observer(Consumer<Command> o) {
        this.observer = o == null ? c -> { } : o;
    }
}
