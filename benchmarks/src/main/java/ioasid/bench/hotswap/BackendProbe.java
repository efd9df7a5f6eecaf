package ioasid.bench.hotswap;

import java.util.Dictionary;
import java.util.Hashtable;

import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventConstants;
import org.osgi.service.event.EventHandler;

/**
 * The activator of the probe bundle that {@link HotswapLatency} drops into the runtime's
 * deploy/: one stdout line per backend event the IOMMU core posts, stamped with
 * {@link System#nanoTime()} when the event is delivered. ADDED is posted once the core has
 * probed the backend's devices into groups, REMOVED once they are blocked: the moment a backend
 * serves, and the moment it is gone. On Linux the stamp is CLOCK_MONOTONIC, the clock the
 * measuring process reads too, so the pipe's delay does not count.
 *
 * <p>It uses only the framework and Event Admin packages, so its class alone makes the bundle.
 */
public final class BackendProbe implements BundleActivator, EventHandler {
    static final String PREFIX = "backend-probe ";
    static final String TOPICS = "ioasid/iommu/backend/*";

    @Override
    public void start(BundleContext context) {
        // before the handler, whose first events may come at once from Event Admin's thread
        System.out.println(PREFIX + System.nanoTime() + " READY -");
        Dictionary<String, Object> props = new Hashtable<>();
        props.put(EventConstants.EVENT_TOPIC, TOPICS);
        context.registerService(EventHandler.class, this, props);
    }

    @Override
    public void stop(BundleContext context) {
        // the framework unregisters the handler
    }

    @Override
    public void handleEvent(Event event) {
        long now = System.nanoTime();
        String topic = event.getTopic();
        System.out.println(PREFIX + now + " " + topic.substring(topic.lastIndexOf('/') + 1) + " "
                + event.getProperty("backend"));
    }
}
