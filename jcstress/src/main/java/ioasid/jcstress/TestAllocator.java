package ioasid.jcstress;

import java.util.BitSet;

import ioasid.api.Ioasid;
import ioasid.api.spi.IoasidAllocator;

/**
 * A custom allocator handing out the lowest free ID from {@code base} up: the ID's number tells
 * which space it came from. Its helper identity is the object itself, so two of them are two
 * spaces (D5).
 */
final class TestAllocator implements IoasidAllocator {
    private final int base;
    private final BitSet used = new BitSet();

    TestAllocator(int base) {
        this.base = base;
    }

    @Override
    public synchronized int alloc(int min, int max) {
        int id = used.nextClearBit(Math.max(min, base));
        if (id > max) {
            return Ioasid.INVALID;
        }
        used.set(id);
        return id;
    }

    @Override
    public synchronized void free(int id) {
        used.clear(id);
    }

    @Override
    public Object helpers() {
        return this;
    }

    @Override
    public String toString() {
        return "test allocator from " + base;
    }
}
