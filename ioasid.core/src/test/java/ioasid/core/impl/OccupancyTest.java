package ioasid.core.impl;

import static ioasid.api.Errno.EINVAL;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Ioasid;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.dto.OccupancyDTO;

/** The occupancy summary an operator's picture of the ID space is drawn from. */
class OccupancyTest {
    private final IoasidFixture fx = new IoasidFixture();
    private final IoasidCore core = fx.core;

    @AfterEach
    void close() {
        fx.close();
    }

    @Test
    @DisplayName("an empty space: every bucket empty, the buckets cover 0..maxId")
    void empty() {
        OccupancyDTO d = core.occupancy(4096);
        assertEquals((1 << 20) - 1, d.maxId);
        assertEquals(256, d.bucketSize);
        assertEquals(4096, d.live.length);
        assertEquals(0, Arrays.stream(d.live).sum());
        assertEquals(0, Arrays.stream(d.dominantSet).sum());
    }

    @Test
    @DisplayName("live IDs counted in their buckets, each bucket named by the set holding most "
            + "of it (the lower set on a tie); frees show")
    void countsAndDominantSets() {
        IoasidSet a = core.createSet(TokenType.NONE, "a", 1000);
        IoasidSet b = core.createSet(TokenType.NONE, "b", 1000);
        IoasidHandle[] ha = new IoasidHandle[300];
        for (int i = 0; i < 300; i++) {
            ha[i] = core.alloc(a, 1, Ioasid.MAX_ID, null); // IDs 1..300
        }
        for (int i = 0; i < 100; i++) {
            core.alloc(b, 400 + i, Ioasid.MAX_ID, null); // IDs 400..499
        }
        core.alloc(b, 600, 600, null);
        core.alloc(a, 601, 601, null);
        OccupancyDTO d = core.occupancy(1 << 20 >> 8); // 256 IDs a bucket
        assertEquals(256, d.bucketSize);
        assertEquals(255, d.live[0]); // 1..255
        assertEquals(a.id(), d.dominantSet[0]);
        assertEquals(45 + 100, d.live[1]); // 256..300 of a, 400..499 of b
        assertEquals(b.id(), d.dominantSet[1]);
        assertEquals(2, d.live[2]); // 600 of b, 601 of a: a tie
        assertEquals(Math.min(a.id(), b.id()), d.dominantSet[2]);
        assertEquals(0, d.live[3]);
        assertEquals(0, d.dominantSet[3]);
        for (int i = 0; i < 300; i++) {
            core.free(ha[i]);
        }
        OccupancyDTO after = core.occupancy(4096);
        assertEquals(0, after.live[0]);
        assertEquals(0, after.dominantSet[0]);
        assertEquals(100, after.live[1]);
        assertEquals(b.id(), after.dominantSet[1]);
    }

    @Test
    @DisplayName("fewer buckets than asked when the space divides so; one ID a bucket at most")
    void bucketSizes() {
        core.alloc(core.createSet(TokenType.NONE, "a", 10), 7, 7, null);
        OccupancyDTO one = core.occupancy(1);
        assertEquals(1 << 20, one.bucketSize);
        assertArrayEquals(new int[] {1}, one.live);
        OccupancyDTO fine = core.occupancy(65536);
        assertEquals(16, fine.bucketSize);
        assertEquals(1, fine.live[0]);
        OccupancyDTO odd = core.occupancy(3);
        assertEquals(349526, odd.bucketSize);
        assertEquals(3, odd.live.length);
    }

    @Test
    @DisplayName("a bucket count out of [1, 65536] is EINVAL")
    void badBuckets() {
        fx.unchanged(EINVAL, () -> core.occupancy(0));
        fx.unchanged(EINVAL, () -> core.occupancy(65537));
    }
}
