package ioasid.testkit.osgi;

import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;

/**
 * Records IOASID events through a system-wide {@link IoasidListener} of the lowest priority, so
 * that it sees each event after every other listener. A line is {@code "TYPE id"}, and
 * {@code "TYPE* id"} for a replay: {@code "ALLOC 1"}, {@code "UNBIND 7"}.
 *
 * <p>The platform delivers an event before the call that caused it returns, so the lines are
 * complete when that call has returned: no wait is needed.
 *
 * <pre>{@code
 * IoasidEvents events = IoasidEvents.record(context);
 * IoasidHandle h = ioasid.alloc(set, 1, 100, null);
 * ioasid.free(h);
 * events.assertOrder("ALLOC 1", "FREE 1");
 * }</pre>
 */
public final class IoasidEvents extends EventLog {
    private final List<IoasidEvent> events = new ArrayList<>();
    private final ServiceRegistration<IoasidListener> registration;

    private IoasidEvents(BundleContext context, EventType... types) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(IoasidListener.NAME, "ioasid.testkit");
        if (types.length > 0) {
            String[] names = new String[types.length];
            for (int i = 0; i < types.length; i++) {
                names[i] = types[i].name();
            }
            p.put(IoasidListener.EVENTS, names);
        }
        registration = context.registerService(IoasidListener.class, this::onEvent, p);
    }

    /** Starts recording the events of these types, or of every type when none is given. */
    public static IoasidEvents record(BundleContext context, EventType... types) {
        return new IoasidEvents(context, types);
    }

    private void onEvent(IoasidEvent e) {
        synchronized (events) {
            events.add(e);
        }
        add(e.type() + (e.replay() ? "*" : "") + " " + e.id());
    }

    /** The events themselves, in order. */
    public List<IoasidEvent> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    @Override
    public void close() {
        try {
            registration.unregister();
        } catch (IllegalStateException alreadyGone) {
            // the test's bundle stopped first
        }
    }
}
