package ioasid.bench;

import ioasid.api.spi.IoasidAllocator;

/**
 * The alloc/free helpers a group of custom allocators shares (a paravirtual allocator's command
 * interface, say): a bitmap of the IDs they gave out. Each {@link Allocator} over the same
 * helpers joins the same ID space in the core.
 */
final class SharedHelpers {
    private final long[] used = new long[(IdSpace.MAX + 64) >>> 6];
    private int hint;
    private int live;

    SharedHelpers() {
        used[0] = 1L;
    }

    synchronized int alloc(int min, int max) {
        for (int w = Math.max(min >>> 6, hint); w < used.length; w++) {
            long bits = ~used[w] & (-1L << (Math.max(min, w << 6) & 63));
            if (bits != 0) {
                int id = (w << 6) + Long.numberOfTrailingZeros(bits);
                if (id > max) {
                    break;
                }
                if (min <= 1) {
                    hint = w;
                }
                used[w] |= 1L << id;
                live++;
                return id;
            }
        }
        return -1;
    }

    synchronized void free(int id) {
        if ((used[id >>> 6] & (1L << id)) == 0) {
            throw new IllegalStateException("ID " + id + " was not allocated");
        }
        used[id >>> 6] &= ~(1L << id);
        hint = Math.min(hint, id >>> 6);
        live--;
    }

    synchronized int live() {
        return live;
    }

    /** One allocator service over the helpers. */
    static final class Allocator implements IoasidAllocator {
        final SharedHelpers helpers;
        long calls;

        Allocator(SharedHelpers helpers) {
            this.helpers = helpers;
        }

        @Override
        public int alloc(int min, int max) {
            calls++;
            return helpers.alloc(min, max);
        }

        @Override
        public void free(int id) {
            helpers.free(id);
        }

        @Override
        public Object helpers() {
            return helpers;
        }
    }
}
