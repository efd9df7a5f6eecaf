package ioasid.testkit.osgi;

import java.util.Hashtable;
import java.util.function.Consumer;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * Where the bundles {@link TinyBundles} builds write what they see, one line per event: a
 * {@code Consumer<String>} service with the property {@value #PROPERTY}{@code =ioasid}, looked up
 * by those bundles for each line. A listener bundle named {@code cpu} writes
 * {@code "cpu:ALLOC 1"} ({@code "cpu:ALLOC* 1"} for a replay); an allocator bundle named
 * {@code a} writes {@code "a:alloc 5"} and {@code "a:free 5"}.
 *
 * <p>Lines from several bundles interleave in the order the platform called them, which is what
 * a test of a notifier chain asserts: {@code journal.assertOrder("cpu:ALLOC 1", "iommu:ALLOC 1")}.
 */
public final class Journal extends EventLog {
    /** The service property the test-built bundles find the journal by. */
    public static final String PROPERTY = "journal";

    private final ServiceRegistration<?> registration;

    private Journal(BundleContext context) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(PROPERTY, "ioasid");
        Consumer<String> sink = this::add;
        registration = context.registerService(Consumer.class, sink, p);
    }

    /** Registers a journal; register one per test, before its bundles start. */
    public static Journal register(BundleContext context) {
        return new Journal(context);
    }

    /** The lines the bundle of this name wrote, in order. */
    public java.util.List<String> of(String name) {
        return lines(name + ":");
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
