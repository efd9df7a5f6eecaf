package ioasid.core.impl;

import static ioasid.api.Errno.EINVAL;

import ioasid.api.IoasidException;
import ioasid.api.dto.OccupancyDTO;

/*
 * The occupancy summary of the ID space (IoasidService.occupancy): live IDs per bucket of
 * consecutive IDs and the set holding most of each bucket, for an operator's picture of the
 * space. Read only, under the core lock like every snapshot (Snapshots), walking the bitmap's
 * live IDs in order: time in proportion to the bitmap's words and the live IDs, one pass, no
 * object per ID. It uses the bitmap and the table only through their reading methods and never
 * touches alloc, find or free.
 */
final class Occupancy {
    static final int MAX_BUCKETS = 1 << 16;

    private final CoreLock lock;
    private final int bits;
    private final IdBitmap bitmap;
    private final HandleImpl[] table;

    Occupancy(CoreLock lock, int bits, IdBitmap bitmap, HandleImpl[] table) {
        this.lock = lock;
        this.bits = bits;
        this.bitmap = bitmap;
        this.table = table;
    }

    OccupancyDTO take(int buckets) {
        if (buckets < 1 || buckets > MAX_BUCKETS) {
            throw new IoasidException(EINVAL, "buckets " + buckets + " not in [1, "
                    + MAX_BUCKETS + "]");
        }
        int size = 1 << bits;
        int bucketSize = (size + buckets - 1) / buckets;
        int n = (size + bucketSize - 1) / bucketSize;
        OccupancyDTO d = new OccupancyDTO();
        d.maxId = size - 1;
        d.bucketSize = bucketSize;
        d.live = new int[n];
        d.dominantSet = new int[n];
        lock.lock();
        try {
            fill(d, bucketSize);
        } finally {
            lock.unlock();
        }
        return d;
    }

    /**
     * One pass over the live IDs in ascending order. Within a bucket the sets met are counted in
     * a small open-addressed table, cleared at each new bucket through the list of its keys.
     */
    private void fill(OccupancyDTO d, int bucketSize) {
        int cap = Integer.highestOneBit(Math.max(1, bucketSize - 1)) << 2;
        int[] keys = new int[cap];
        int[] counts = new int[cap];
        int[] used = new int[Math.min(cap, bucketSize + 1)];
        int nUsed = 0;
        int bucket = -1;
        int best = 0;
        int bestCount = 0;
        for (int id = bitmap.nextSet(1); id >= 0; id = bitmap.nextSet(id + 1)) {
            HandleImpl h = id < table.length ? table[id] : null;
            if (h == null) {
                continue;
            }
            int b = id / bucketSize;
            if (b != bucket) {
                for (int i = 0; i < nUsed; i++) {
                    keys[used[i]] = 0;
                    counts[used[i]] = 0;
                }
                nUsed = 0;
                bucket = b;
                best = 0;
                bestCount = 0;
            }
            d.live[b]++;
            int set = h.set.id;
            int slot = (set * 0x9E3779B1) >>> 1 & (cap - 1);
            while (keys[slot] != 0 && keys[slot] != set) {
                slot = (slot + 1) & (cap - 1);
            }
            if (keys[slot] == 0) {
                keys[slot] = set;
                used[nUsed++] = slot;
            }
            int c = ++counts[slot];
            if (c > bestCount || (c == bestCount && set < best)) {
                best = set;
                bestCount = c;
            }
            d.dominantSet[b] = best;
        }
    }
}
