package ioasid.core.impl;

import java.util.HashMap;
import java.util.Map;

import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;

import ioasid.api.IoasidTopics;
import ioasid.api.spi.IoasidListener;

/**
 * The one class that touches Event Admin types. It is loaded only when an Event Admin service is
 * bound, so the core resolves and runs without Event Admin (its import is optional).
 */
public final class EventAdminPoster {
    private static final System.Logger LOG = System.getLogger("ioasid.core");

    private final EventAdmin eventAdmin;

    public EventAdminPoster(Object eventAdmin) {
        this.eventAdmin = (EventAdmin) eventAdmin;
    }

    /** Posts asynchronously; a failure is logged, never thrown at the caller. */
    public void post(String topic, Map<String, ?> properties) {
        try {
            eventAdmin.postEvent(new Event(topic, properties));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "posting " + topic + " failed: " + e);
        }
    }

    /** A listener that posts each IOASID event on {@link IoasidTopics}. */
    IoasidListener ioasidListener() {
        return e -> {
            Map<String, Object> p = new HashMap<>();
            p.put(IoasidTopics.PROP_ID, e.id());
            p.put(IoasidTopics.PROP_SPID, e.spid());
            p.put(IoasidTopics.PROP_SET, e.set().id());
            p.put(IoasidTopics.PROP_REPLAY, e.replay());
            p.put(IoasidTopics.PROP_SEQUENCE, e.sequence());
            post(IoasidTopics.EVENT + e.type().name(), p);
        };
    }
}
