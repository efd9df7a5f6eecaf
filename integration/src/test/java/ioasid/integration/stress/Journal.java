package ioasid.integration.stress;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Function;

import ioasid.api.spi.IoasidEvent;

/**
 * Where the listener bundles built at test time send their events: one {@link LifeCycleChecker}
 * per incarnation (each start of a listener bundle opens a new key). Registered as a service
 * ({@code stress.journal=true}) under {@code BiConsumer} and {@code Function}, types every bundle
 * shares. An optional hook runs before each event is checked, on the delivering thread (a fault
 * test blocks a listener with it).
 */
final class Journal implements BiConsumer<String, Object>, Function<String, String> {
    private final AtomicLong incarnations = new AtomicLong();
    private final Map<String, LifeCycleChecker> checkers = new ConcurrentHashMap<>();
    private final Map<String, String> current = new ConcurrentHashMap<>();
    private final List<String> order = new ArrayList<>();
    volatile LifeCycleChecker above;
    volatile LifeCycleChecker below;
    volatile BiConsumer<String, IoasidEvent> hook;

    /** Opens an incarnation of the listener {@code name}; its key. */
    @Override
    public String apply(String name) {
        String key = name + "#" + incarnations.incrementAndGet();
        LifeCycleChecker c = new LifeCycleChecker(key, true);
        c.above = above;
        c.below = below;
        checkers.put(key, c);
        current.put(name, key);
        synchronized (order) {
            order.add(key);
        }
        return key;
    }

    @Override
    public void accept(String key, Object event) {
        IoasidEvent e = (IoasidEvent) event;
        BiConsumer<String, IoasidEvent> h = hook;
        if (h != null) {
            h.accept(key, e);
        }
        LifeCycleChecker c = checkers.get(key);
        if (c == null) {
            throw new IllegalStateException("event for an unknown incarnation " + key);
        }
        c.onEvent(e);
    }

    /** Every incarnation opened so far, in order. */
    List<LifeCycleChecker> incarnations() {
        List<LifeCycleChecker> out = new ArrayList<>();
        synchronized (order) {
            for (String k : order) {
                out.add(checkers.get(k));
            }
        }
        return out;
    }

    /** The latest incarnation of a listener, or null. */
    LifeCycleChecker latest(String name) {
        String k = current.get(name);
        return k == null ? null : checkers.get(k);
    }
}
