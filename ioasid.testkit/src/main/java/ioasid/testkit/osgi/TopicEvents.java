package ioasid.testkit.osgi;

import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventConstants;
import org.osgi.service.event.EventHandler;

/**
 * Records the events Event Admin delivers on the platform's topics ({@link
 * ioasid.api.IoasidTopics}): IOASID transitions, allocator and backend changes. A line is the
 * event's topic.
 *
 * <p>Event Admin delivers asynchronously, in order per poster: wait with {@link #awaitLines}
 * before asserting.
 *
 * <pre>{@code
 * TopicEvents topics = TopicEvents.record(context);
 * ...
 * topics.awaitLines(IoasidTopics.EVENT, 2);
 * assertEquals(List.of(IoasidTopics.ALLOC, IoasidTopics.FREE), topics.lines(IoasidTopics.EVENT));
 * }</pre>
 */
public final class TopicEvents extends EventLog {
    private final List<Event> events = new ArrayList<>();
    private final ServiceRegistration<EventHandler> registration;

    private TopicEvents(BundleContext context, String... topics) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(EventConstants.EVENT_TOPIC, topics.length == 0 ? new String[] {"ioasid/*"}
                : topics.clone());
        registration = context.registerService(EventHandler.class, this::onEvent, p);
    }

    /**
     * Starts recording the events of these topics (Event Admin's patterns, {@code "ioasid/*"}
     * when none is given).
     */
    public static TopicEvents record(BundleContext context, String... topics) {
        return new TopicEvents(context, topics);
    }

    private void onEvent(Event e) {
        synchronized (events) {
            events.add(e);
        }
        add(e.getTopic());
    }

    /** The events themselves, in order. */
    public List<Event> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    /** The first event of this topic so far; fails when there is none. */
    public Event first(String topic) {
        return events().stream().filter(e -> e.getTopic().equals(topic)).findFirst()
                .orElseThrow(() -> new AssertionError("no event on " + topic + " in " + lines()));
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
