package ioasid.core.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.Random;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The three-level bitmap behind lowest-free allocation (rule 4, D1), against java.util.BitSet. */
class IdBitmapTest {

    private static int expectedNextClear(BitSet ref, int from, int to) {
        int id = ref.nextClearBit(from);
        return id <= to ? id : -1;
    }

    @Test
    @DisplayName("rule 4: lowest clear bit across word and summary boundaries, full 20 bits")
    void fullSpaceFillAndHoles() {
        IdBitmap b = new IdBitmap(20);
        for (int i = 0; i < 1 << 20; i++) {
            assertEquals(i, b.nextClear(0, (1 << 20) - 1));
            b.set(i);
        }
        assertEquals(-1, b.nextClear(0, (1 << 20) - 1));
        int[] holes = {0, 63, 64, 4095, 4096, 262_143, 262_144, (1 << 20) - 1};
        for (int h : holes) {
            b.clear(h);
        }
        int from = 0;
        for (int h : holes) {
            assertEquals(h, b.nextClear(from, (1 << 20) - 1));
            from = h + 1;
        }
        assertEquals(-1, b.nextClear(1, 62));
        assertEquals(262_143, b.nextClear(4097, 262_144));
        assertEquals(262_144, b.nextClear(262_144, 262_144));
        assertEquals(-1, b.nextClear(4097, 262_142));
    }

    @Test
    @DisplayName("random sets and clears agree with BitSet for nextClear, nextSet and get")
    void randomAgainstBitSet() {
        Random rnd = new Random(20261123);
        for (int bits : new int[] {1, 5, 6, 7, 12, 13, 20}) {
            int size = 1 << bits;
            IdBitmap b = new IdBitmap(bits);
            BitSet ref = new BitSet(size);
            for (int step = 0; step < 20_000; step++) {
                int id = rnd.nextInt(size);
                if (rnd.nextInt(3) > 0) {
                    b.set(id);
                    ref.set(id);
                } else {
                    b.clear(id);
                    ref.clear(id);
                }
                int from = rnd.nextInt(size);
                int to = from + rnd.nextInt(size - from);
                assertEquals(expectedNextClear(ref, from, to), b.nextClear(from, to),
                        bits + " bits: nextClear(" + from + ", " + to + ")");
                int next = ref.nextSetBit(from);
                assertEquals(next, b.nextSet(from), "nextSet(" + from + ")");
                assertEquals(ref.get(id), b.get(id));
            }
        }
    }

    @Test
    @DisplayName("dense fills keep the summaries right when words fill and empty again")
    void summariesFollowFillAndDrain() {
        IdBitmap b = new IdBitmap(14);
        for (int i = 0; i < 1 << 14; i++) {
            b.set(i);
        }
        for (int i = (1 << 14) - 1; i >= 0; i -= 7) {
            b.clear(i);
            assertEquals(i, b.nextClear(i, (1 << 14) - 1));
            assertFalse(b.get(i));
            b.set(i);
        }
        b.clear(8191);
        assertEquals(8191, b.nextClear(0, (1 << 14) - 1));
        assertTrue(b.get(8190));
        assertEquals(-1, b.nextSet(1 << 14));
    }

    @Test
    @DisplayName("lowest-first allocation from the bottom, with frees anywhere and searches with "
            + "other lower bounds mixed in, agrees with BitSet (the lowest-clear hint stays a "
            + "lower bound)")
    void lowestFirstWithHint() {
        Random rnd = new Random(7);
        IdBitmap b = new IdBitmap(12);
        BitSet ref = new BitSet(1 << 12);
        int max = (1 << 12) - 1;
        for (int step = 0; step < 200_000; step++) {
            int op = rnd.nextInt(10);
            if (op < 6) {
                int from = op == 0 ? rnd.nextInt(max + 1) : 1;
                int to = op == 1 ? from + rnd.nextInt(max + 1 - from) : max;
                int got = b.nextClear(from, to);
                assertEquals(expectedNextClear(ref, from, to), got,
                        "step " + step + ": nextClear(" + from + ", " + to + ")");
                if (got >= 0) {
                    b.set(got);
                    ref.set(got);
                }
            } else {
                int id = rnd.nextInt(max + 1);
                b.clear(id);
                ref.clear(id);
            }
        }
    }
}
