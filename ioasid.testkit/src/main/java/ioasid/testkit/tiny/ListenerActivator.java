package ioasid.testkit.tiny;

import java.util.Hashtable;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;

import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;

/**
 * The activator of a listener bundle built at test time (TinyBundles.listener): it registers an
 * IOASID listener named and ranked by its manifest, writes what it receives to the journal
 * service, and offers a way to change its ranking at runtime. It is copied alone into the bundle,
 * so it uses only java.*, org.osgi.framework and ioasid.api.spi.
 */
public class ListenerActivator implements BundleActivator {
    private ServiceRegistration<IoasidListener> registration;

    @Override
    public void start(BundleContext ctx) {
        String name = ctx.getBundle().getHeaders().get("Listener-Name");
        int ranking = Integer.parseInt(ctx.getBundle().getHeaders().get("Listener-Ranking"));
        IoasidListener listener = (IoasidEvent e) -> journal(ctx, name + ":" + e.type()
                + (e.replay() ? "*" : "") + " " + e.id());
        registration = ctx.registerService(IoasidListener.class, listener, props(name, ranking));
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("listener.name", name);
        ctx.registerService(IntConsumer.class,
                r -> registration.setProperties(props(name, r)), p);
    }

    private static Hashtable<String, Object> props(String name, int ranking) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(Constants.SERVICE_RANKING, ranking);
        p.put(IoasidListener.NAME, name);
        return p;
    }

    @SuppressWarnings("unchecked")
    static void journal(BundleContext ctx, String line) {
        try {
            ServiceReference<?>[] refs = ctx.getServiceReferences(Consumer.class.getName(),
                    "(journal=ioasid)");
            if (refs != null) {
                ((Consumer<String>) ctx.getService(refs[0])).accept(line);
                ctx.ungetService(refs[0]);
            }
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void stop(BundleContext ctx) {
        // the framework unregisters the services with the bundle
    }
}
