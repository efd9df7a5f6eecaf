package ioasid.runtime.impl;

import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;
import org.osgi.service.event.EventConstants;
import org.osgi.service.event.EventHandler;

/**
 * Lets Event Admin deliver what a stopping platform posted before Event Admin itself stops.
 * Stopping it closes its delivery pool and interrupts a delivery still running, which it reports
 * as "Event Task Processing Interrupted" although nothing went wrong. The bundles of the platform
 * stop on the framework's start-level thread and post their last events from it; Event Admin
 * delivers one thread's posts in order, so a marker posted from that thread once they have all
 * stopped arrives after every one of them.
 */
final class EventDrain {
    static final String TOPIC = "ioasid/runtime/DRAINED";

    private EventDrain() {
    }

    /** Whether the marker arrived within the time given; true when there is no Event Admin. */
    static boolean await(BundleContext context, long timeoutMs) {
        ServiceReference<EventAdmin> ref = context.getServiceReference(EventAdmin.class);
        EventAdmin admin = ref == null ? null : context.getService(ref);
        if (admin == null) {
            return true;
        }
        CountDownLatch delivered = new CountDownLatch(1);
        Dictionary<String, Object> props = new Hashtable<>();
        props.put(EventConstants.EVENT_TOPIC, TOPIC);
        ServiceRegistration<EventHandler> handler =
                context.registerService(EventHandler.class, e -> delivered.countDown(), props);
        try {
            admin.postEvent(new Event(TOPIC, Map.of()));
            return delivered.await(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            handler.unregister();
            context.ungetService(ref);
        }
    }
}
