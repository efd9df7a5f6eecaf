package ioasid.integration.stress;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidState;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;

/**
 * Checks one listener's event stream as it arrives (D12, D13): for each ID, ALLOC, then any
 * number of BIND / UNBIND pairs, then one FREE (and an UNBIND after it when the ID was freed
 * while bound, sent at its reclaim or detach); a number is handed out again only once its
 * previous handle is FREE; sequence numbers only grow; and, against the listeners ranked above
 * and below it, each live event reaches the one above first and the one below after (one chain
 * order for every event). A late listener is held to the same rules from its replay on (D15):
 * no exceptions for what happened before it joined. The same logic as
 * {@code ConcurrencyTest.LifeCycleChecker} in the core's unit tests.
 */
final class LifeCycleChecker implements IoasidListener {
    private static final int MAX_KEPT = 20;

    final String name;
    /** A listener ranked above this one, present for every event this one checks, or null. */
    volatile LifeCycleChecker above;
    /** A listener ranked below this one, or null. */
    volatile LifeCycleChecker below;

    // guarded by this
    private final Map<Integer, IoasidHandle> handleOf = new HashMap<>();
    private final Map<Integer, Character> phaseOf = new HashMap<>();
    private final List<String> violations = new ArrayList<>();
    private long violationCount;
    private long[] liveSeqs;
    private int liveCount;
    long allocs;
    long frees;
    long binds;
    long unbinds;
    long replays;
    private long lastSeq;
    /** The last live (not replayed) sequence seen, read by the neighbours. */
    volatile long lastLiveSeq;

    /** @param recordSequences whether to keep every live sequence number (for contiguity) */
    LifeCycleChecker(String name, boolean recordSequences) {
        this.name = name;
        this.liveSeqs = recordSequences ? new long[1024] : null;
    }

    // phases: L live, B bound, F freed (FREE seen), X freed while bound (UNBIND still to come)
    @Override
    public synchronized void onEvent(IoasidEvent e) {
        if (e.sequence() <= lastSeq) {
            violation("sequence went back from " + lastSeq + " at " + e);
        }
        lastSeq = e.sequence();
        if (e.replay()) {
            replays++;
        } else {
            LifeCycleChecker a = above;
            if (a != null && a.lastLiveSeq != e.sequence()) {
                violation(e + " reached " + name + " before " + a.name + " (which is at "
                        + a.lastLiveSeq + ")");
            }
            LifeCycleChecker b = below;
            if (b != null && b.lastLiveSeq >= e.sequence()) {
                violation(e + " reached " + b.name + " before " + name);
            }
            if (liveSeqs != null) {
                if (liveCount == liveSeqs.length) {
                    liveSeqs = Arrays.copyOf(liveSeqs, liveCount * 2);
                }
                liveSeqs[liveCount++] = e.sequence();
            }
        }
        Character ph = phaseOf.get(e.id());
        char phase = ph == null ? 'N' : ph;
        IoasidHandle h = handleOf.get(e.id());
        switch (e.type()) {
            case ALLOC:
                allocs++;
                if (phase != 'N' && phase != 'F') {
                    violation("ALLOC in phase " + phase + ": " + e);
                }
                if (h != null && h != e.handle() && h.state() != IoasidState.FREE) {
                    violation("ID " + e.id() + " handed out again while its previous handle is "
                            + h.state() + ": " + e);
                }
                handleOf.put(e.id(), e.handle());
                phaseOf.put(e.id(), 'L');
                break;
            case BIND:
                binds++;
                expect(e, h, phase, 'L', 'B');
                break;
            case UNBIND:
                unbinds++;
                if (phase == 'X') {
                    expect(e, h, phase, 'X', 'F');
                } else {
                    expect(e, h, phase, 'B', 'L');
                }
                break;
            case FREE:
                frees++;
                if (phase == 'B') {
                    expect(e, h, phase, 'B', 'X');
                } else {
                    expect(e, h, phase, 'L', 'F');
                }
                break;
            default:
                violation("unknown event " + e);
        }
        if (!e.replay()) {
            lastLiveSeq = e.sequence();
        }
    }

    private void expect(IoasidEvent e, IoasidHandle h, char phase, char from, char to) {
        if (phase != from) {
            violation(e.type() + " in phase " + phase + " (expected " + from + "): " + e);
        }
        if (h != e.handle()) {
            violation(e + " for another lifetime's handle");
        }
        phaseOf.put(e.id(), to);
    }

    private void violation(String what) {
        violationCount++;
        if (violations.size() < MAX_KEPT) {
            violations.add(name + ": " + what);
        }
    }

    synchronized long violationCount() {
        return violationCount;
    }

    synchronized List<String> violations() {
        return new ArrayList<>(violations);
    }

    /** IDs whose last event left them allocated (ALLOC seen, FREE not yet). */
    synchronized int liveIds() {
        int n = 0;
        for (char p : phaseOf.values()) {
            if (p == 'L' || p == 'B') {
                n++;
            }
        }
        return n;
    }

    /** Whether this ID's last event left a lifetime open (ALLOC seen, its end not yet). */
    synchronized boolean openLife(int id) {
        Character p = phaseOf.get(id);
        return p != null && p != 'F';
    }

    /** IDs still bound (BIND without UNBIND). */
    synchronized int boundIds() {
        int n = 0;
        for (char p : phaseOf.values()) {
            if (p == 'B' || p == 'X') {
                n++;
            }
        }
        return n;
    }

    synchronized long[] liveSequences() {
        return liveSeqs == null ? new long[0] : Arrays.copyOf(liveSeqs, liveCount);
    }

    synchronized String counts() {
        return name + ": " + allocs + " ALLOC, " + frees + " FREE, " + binds + " BIND, " + unbinds
                + " UNBIND, " + replays + " replayed, " + violationCount + " violations";
    }
}
