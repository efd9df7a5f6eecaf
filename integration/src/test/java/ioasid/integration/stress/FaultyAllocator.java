package ioasid.integration.stress;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import ioasid.api.spi.IoasidAllocator;

/**
 * A custom allocator registered from the test, with faults to inject: alloc throws, returns an ID
 * outside the range or a negative one, or hands out again an ID it already gave (a duplicate); free
 * throws; helpers() throws. It counts what it handed out per ID (a duplicate counts twice), so
 * the test can check that the core gives back exactly what it must (rule 19: a refused ID is
 * freed back once) and nothing else.
 */
final class FaultyAllocator implements IoasidAllocator {
    enum Mode {
        NORMAL,
        THROW,
        OUT_OF_RANGE,
        NEGATIVE,
        DUPLICATE
    }

    private final Object helpers;
    volatile Mode mode = Mode.NORMAL;
    volatile int duplicate;
    volatile boolean throwOnFree;
    volatile boolean helpersThrow;
    private final Map<Integer, Integer> handedOut = new HashMap<>();
    private final List<Integer> freed = new ArrayList<>();
    private long allocCalls;
    private long badFrees;

    FaultyAllocator(Object helpers) {
        this.helpers = helpers;
    }

    @Override
    public synchronized int alloc(int min, int max) {
        allocCalls++;
        int id;
        switch (mode) {
            case THROW:
                throw injected("injected alloc fault");
            case OUT_OF_RANGE:
                id = max + 5;
                break;
            case NEGATIVE:
                return -7;
            case DUPLICATE:
                id = duplicate;
                break;
            default:
                id = min;
                while (handedOut.getOrDefault(id, 0) > 0) {
                    id++;
                }
                if (id > max) {
                    return -1;
                }
        }
        handedOut.merge(id, 1, Integer::sum);
        return id;
    }

    @Override
    public synchronized void free(int id) {
        freed.add(id);
        if (throwOnFree) {
            throw injected("injected free fault");
        }
        Integer n = handedOut.get(id);
        if (n == null) {
            badFrees++;
        } else if (n == 1) {
            handedOut.remove(id);
        } else {
            handedOut.put(id, n - 1);
        }
    }

    @Override
    public Object helpers() {
        if (helpersThrow) {
            throw injected("injected helpers fault");
        }
        return helpers;
    }

    /** Without a stack trace: the core logs each fault, keep the build log short. */
    static RuntimeException injected(String what) {
        return new RuntimeException(what, null, false, false) {
            private static final long serialVersionUID = 1L;
        };
    }

    synchronized int outstanding() {
        return handedOut.values().stream().mapToInt(Integer::intValue).sum();
    }

    synchronized int count(int id) {
        return handedOut.getOrDefault(id, 0);
    }

    synchronized List<Integer> freed() {
        return new ArrayList<>(freed);
    }

    synchronized long allocCalls() {
        return allocCalls;
    }

    synchronized long badFrees() {
        return badFrees;
    }
}
