package ioasid.core.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.IntBinaryOperator;
import java.util.function.IntConsumer;

import org.junit.jupiter.api.function.Executable;
import org.osgi.framework.Constants;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidAllocator;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;
import ioasid.testkit.Expect;

/** Wires allocators and listeners into a core the way SCR does, with fresh service IDs. */
final class IoasidFixture implements AutoCloseable {
    private static final AtomicLong SERVICE_IDS = new AtomicLong(100);

    final IoasidCore core;
    private final Map<Object, Map<String, Object>> registered = new HashMap<>();

    IoasidFixture() {
        this(20, 10_000);
    }

    IoasidFixture(int bits, long stallMillis) {
        core = new IoasidCore(bits, stallMillis);
    }

    /** Stops the core's listener watchdog thread, as its component's deactivation does. */
    @Override
    public void close() {
        core.close();
    }

    /** Everything observable of the core but counters, to check that a failed call changed nothing. */
    String state() {
        return java.util.Arrays.toString(core.ids(null, Integer.MAX_VALUE))
                + java.util.Arrays.toString(core.sets()) + core.capacity()
                + java.util.Arrays.toString(core.idSpaces())
                + java.util.Arrays.toString(core.allocators())
                + java.util.Arrays.toString(core.listeners());
    }

    /** Expects the call to fail with the errno and to leave the state as it was. */
    IoasidException unchanged(Errno errno, Expect.Call call) {
        return Expect.unchanged(errno, this::state, call);
    }

    static Map<String, Object> props(Object... kv) {
        Map<String, Object> m = new HashMap<>();
        m.put(Constants.SERVICE_ID, SERVICE_IDS.incrementAndGet());
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    long register(IoasidAllocator a, Object... kv) {
        Map<String, Object> p = props(kv);
        registered.put(key(a, p), p);
        core.bindAllocator(a, p);
        return (Long) p.get(Constants.SERVICE_ID);
    }

    long register(IoasidListener l, Object... kv) {
        Map<String, Object> p = props(kv);
        if (l instanceof Recorder r) {
            p.putIfAbsent(IoasidListener.NAME, r.name);
        }
        registered.put(key(l, p), p);
        core.bindListener(l, p);
        return (Long) p.get(Constants.SERVICE_ID);
    }

    private static Object key(Object service, Map<String, Object> p) {
        return List.of(System.identityHashCode(service), p.get(Constants.SERVICE_ID));
    }

    private Map<String, Object> find(Object service, long sid) {
        Map<String, Object> p = registered.get(List.of(System.identityHashCode(service), sid));
        if (p == null) {
            throw new IllegalStateException("not registered: " + service + " " + sid);
        }
        return p;
    }

    void unregister(IoasidAllocator a, long sid) {
        Map<String, Object> p = registered.remove(List.of(System.identityHashCode(a), sid));
        core.unbindAllocator(a, p);
    }

    void unregister(IoasidListener l, long sid) {
        Map<String, Object> p = registered.remove(List.of(System.identityHashCode(l), sid));
        core.unbindListener(l, p);
    }

    void rerank(IoasidAllocator a, long sid, int ranking) {
        Map<String, Object> p = find(a, sid);
        p.put(Constants.SERVICE_RANKING, ranking);
        core.updatedAllocator(a, p);
    }

    void rerank(IoasidListener l, long sid, int ranking) {
        Map<String, Object> p = find(l, sid);
        p.put(Constants.SERVICE_RANKING, ranking);
        core.updatedListener(l, p);
    }

    AllocatorDTO allocatorDto(long sid) {
        return java.util.Arrays.stream(core.allocators()).filter(a -> a.serviceId == sid)
                .findFirst().orElseThrow();
    }

    ListenerDTO listenerDto(long sid) {
        return java.util.Arrays.stream(core.listeners()).filter(l -> l.serviceId == sid)
                .findFirst().orElseThrow();
    }

    /** An allocator made of two functions, for faults and oddities. */
    static IoasidAllocator allocator(Object helpers, IntBinaryOperator alloc, IntConsumer free) {
        return new IoasidAllocator() {
            @Override
            public int alloc(int min, int max) {
                return alloc.applyAsInt(min, max);
            }

            @Override
            public void free(int id) {
                free.accept(id);
            }

            @Override
            public Object helpers() {
                return helpers;
            }

            @Override
            public String toString() {
                return "allocator " + helpers;
            }
        };
    }

    /** Blocks in alloc until released, then returns its ID; records what it is given back. */
    static final class BlockingAllocator implements IoasidAllocator {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final List<Integer> freed = Collections.synchronizedList(new ArrayList<>());
        final int id;

        BlockingAllocator(int id) {
            this.id = id;
        }

        void awaitEntered() throws InterruptedException {
            if (!entered.await(5, TimeUnit.SECONDS)) {
                throw new AssertionError("the allocation never reached the allocator");
            }
        }

        @Override
        public int alloc(int min, int max) {
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return id;
        }

        @Override
        public void free(int id) {
            freed.add(id);
        }

        @Override
        public Object helpers() {
            return "blocking";
        }
    }

    /**
     * A custom allocator with its own lowest-free space, like a host's allocator behind a
     * virtual command interface. Instances made with the same {@code helpers} share it.
     */
    static final class SpaceAllocator implements IoasidAllocator {
        /** The "host" state behind the helpers: shared by every allocator using the helpers. */
        static final class Helpers {
            final String name;
            final BitSet used = new BitSet();
            final List<String> calls = Collections.synchronizedList(new ArrayList<>());
            int floor;

            Helpers(String name) {
                this(name, 0);
            }

            /** Hands out IDs from {@code floor} up, so spaces can be told apart in tests. */
            Helpers(String name, int floor) {
                this.name = name;
                this.floor = floor;
            }

            synchronized int alloc(int min, int max, String by) {
                int id = used.nextClearBit(Math.max(min, floor));
                calls.add(by + ":alloc");
                if (id > max) {
                    return Ioasid.INVALID;
                }
                used.set(id);
                return id;
            }

            synchronized void free(int id, String by) {
                calls.add(by + ":free " + id);
                used.clear(id);
            }

            synchronized int outstanding() {
                return used.cardinality();
            }

            @Override
            public String toString() {
                return name;
            }
        }

        final Helpers helpers;
        final String pdata;

        SpaceAllocator(Helpers helpers, String pdata) {
            this.helpers = helpers;
            this.pdata = pdata;
        }

        @Override
        public int alloc(int min, int max) {
            return helpers.alloc(min, max, pdata);
        }

        @Override
        public void free(int id) {
            helpers.free(id, pdata);
        }

        @Override
        public Object helpers() {
            return helpers;
        }

        @Override
        public String toString() {
            return pdata;
        }
    }

    /** Records every event it receives, optionally running an action on each. */
    static class Recorder implements IoasidListener {
        final String name;
        final List<IoasidEvent> events = Collections.synchronizedList(new ArrayList<>());
        final List<String> log;
        volatile Consumer<IoasidEvent> action;

        Recorder(String name) {
            this(name, null);
        }

        /** Appends "name:TYPE id" to a log shared by several recorders, to check chain order. */
        Recorder(String name, List<String> log) {
            this.name = name;
            this.log = log;
        }

        @Override
        public void onEvent(IoasidEvent event) {
            events.add(event);
            if (log != null) {
                log.add(name + ":" + event.type() + " " + event.id());
            }
            Consumer<IoasidEvent> a = action;
            if (a != null) {
                a.accept(event);
            }
        }

        List<String> seen() {
            synchronized (events) {
                List<String> out = new ArrayList<>();
                for (IoasidEvent e : events) {
                    out.add(e.type() + (e.replay() ? "*" : "") + " " + e.id());
                }
                return out;
            }
        }

        long count(EventType type) {
            synchronized (events) {
                return events.stream().filter(e -> e.type() == type).count();
            }
        }

        @Override
        public String toString() {
            return name;
        }
    }
}
