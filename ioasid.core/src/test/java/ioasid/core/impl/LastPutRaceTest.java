package ioasid.core.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;

/**
 * The last put drops the count to zero outside the core lock and only then takes the lock to
 * reclaim. Operations that meet a handle in that window must behave as if the put came first
 * (the jcstress races IoasidPutRacingFreeTest and IoasidFindBySpidRacingPutTest). Two threads
 * meet at a barrier each round, after a random spin, so both orders and the window between them
 * are hit. The free's window is a few instructions wide and rarely met here; the jcstress test
 * meets it reliably.
 */
class LastPutRaceTest {
    private static final int ROUNDS = Integer.getInteger("ioasid.concurrency.ops", 60_000) / 3;

    /** What each side of a round did: its return value or its errno. */
    private static Object outcome(Supplier<Object> op) {
        try {
            return op.get();
        } catch (IoasidException e) {
            return e.errno();
        }
    }

    /** Runs {@code a} and {@code b} against each other once per round; returns their outcomes. */
    private static List<Object[]> race(Runnable prepare, Supplier<Object> a, Supplier<Object> b)
            throws Exception {
        CyclicBarrier start = new CyclicBarrier(2);
        CyclicBarrier end = new CyclicBarrier(2, null);
        Object[][] results = new Object[ROUNDS][2];
        long seed = System.nanoTime();
        Thread other = new Thread(() -> {
            SplittableRandom r = new SplittableRandom(seed + 1);
            try {
                for (int i = 0; i < ROUNDS; i++) {
                    start.await();
                    spin(r);
                    results[i][1] = outcome(b);
                    end.await();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        other.start();
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < ROUNDS; i++) {
            prepare.run();
            start.await(10, TimeUnit.SECONDS);
            spin(r);
            results[i][0] = outcome(a);
            end.await(10, TimeUnit.SECONDS);
        }
        other.join();
        List<Object[]> out = new ArrayList<>();
        for (Object[] x : results) {
            out.add(x);
        }
        return out;
    }

    private static void spin(SplittableRandom r) {
        for (int n = r.nextInt(64); n > 0; n--) {
            Thread.onSpinWait();
        }
    }

    @Test
    @Timeout(120)
    @DisplayName("a free racing the last put: exactly one of them wins, the other finds the ID "
            + "gone (ENOENT); never both")
    void freeRacingLastPut() throws Exception {
        IoasidCore core = new IoasidCore(20, 10_000);
        IoasidSet set = core.createSet(TokenType.NONE, null, 0);
        IoasidHandle[] h = new IoasidHandle[1];
        List<Object[]> rounds = race(() -> h[0] = core.alloc(set, 1, 100, null),
                () -> core.put(h[0]), () -> {
                    core.free(h[0]);
                    return "freed";
                });
        int putWon = 0;
        for (Object[] o : rounds) {
            boolean put = Boolean.TRUE.equals(o[0]);
            boolean free = "freed".equals(o[1]);
            assertTrue(put != free, "put " + o[0] + ", free " + o[1]);
            assertEquals(Errno.ENOENT, put ? o[1] : o[0], "the loser finds the ID gone");
            putWon += put ? 1 : 0;
        }
        assertEquals(0, core.stats().live);
        assertTrue(putWon > 0 && putWon < rounds.size(), "both orders seen: " + putWon);
    }

    @Test
    @Timeout(120)
    @DisplayName("findBySpid with get racing the last put: a reference taken first, or ENOENT; "
            + "never the stale-handle EINVAL")
    void findBySpidRacingLastPut() throws Exception {
        IoasidCore core = new IoasidCore(20, 10_000);
        IoasidSet set = core.createSet(TokenType.NONE, null, 0);
        IoasidHandle[] h = new IoasidHandle[1];
        List<Object[]> rounds = race(() -> {
            if (h[0] != null && h[0].refCount() > 0) {
                core.put(h[0]); // the reference the finder took last round
            }
            h[0] = core.alloc(set, 1, 100, null);
            core.attachSpid(h[0], 7);
        }, () -> core.put(h[0]), () -> core.findBySpid(set, 7, true));
        for (Object[] o : rounds) {
            if (o[1] instanceof IoasidHandle) {
                assertEquals(Boolean.FALSE, o[0], "the finder's reference keeps the ID");
            } else {
                assertEquals(Errno.ENOENT, o[1]);
                assertEquals(Boolean.TRUE, o[0]);
            }
        }
    }

    @Test
    @Timeout(120)
    @DisplayName("get by number racing the last put: a reference, or the number is unknown")
    void getByNumberRacingLastPut() throws Exception {
        IoasidCore core = new IoasidCore(20, 10_000);
        Object mm = new Object();
        IoasidSet set = core.createSet(TokenType.MM, mm, 0);
        IoasidHandle[] h = new IoasidHandle[1];
        List<Object[]> rounds = race(() -> {
            if (h[0] != null && h[0].refCount() > 0) {
                core.put(h[0]);
            }
            h[0] = core.alloc(set, 1, 1, null);
        }, () -> core.put(h[0]), () -> core.getIfOwned(mm, 1));
        for (Object[] o : rounds) {
            if (o[1] instanceof IoasidHandle) {
                assertEquals(Boolean.FALSE, o[0]);
            } else {
                assertEquals(Errno.ENOENT, o[1], "getIfOwned answers ENOENT for a gone ID");
            }
        }
    }
}
