package ioasid.integration.stress.tiny;

import java.util.Hashtable;
import java.util.function.BiConsumer;
import java.util.function.Function;

import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;

import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;

/**
 * The activator of a listener bundle built at test time. Each start opens a new incarnation with
 * the test's journal ({@code stress.journal=true}, a {@code Function<String, String>} giving the
 * incarnation's key and a {@code BiConsumer<String, Object>} taking its events) and registers this
 * activator instance as a system-wide IOASID listener ranked by the manifest. Every event goes to
 * the journal under the incarnation's key, so events a stopped incarnation still receives cannot
 * be mistaken for the next one's.
 */
public class JournalListenerActivator implements BundleActivator, IoasidListener {
    private String key;
    private BiConsumer<String, Object> journal;

    @Override
    @SuppressWarnings("unchecked")
    public void start(BundleContext ctx) throws Exception {
        String name = ctx.getBundle().getHeaders().get("Listener-Name");
        int ranking = Integer.parseInt(ctx.getBundle().getHeaders().get("Listener-Ranking"));
        ServiceReference<?>[] refs = ctx.getServiceReferences(BiConsumer.class.getName(),
                "(stress.journal=true)");
        if (refs == null) {
            throw new IllegalStateException("no stress journal");
        }
        Object svc = ctx.getService(refs[0]);
        journal = (BiConsumer<String, Object>) svc;
        key = ((Function<String, String>) svc).apply(name);
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(Constants.SERVICE_RANKING, ranking);
        p.put(IoasidListener.NAME, key);
        ctx.registerService(IoasidListener.class.getName(), this, p);
    }

    @Override
    public void stop(BundleContext ctx) {
        // the framework unregisters the listener with the bundle
    }

    @Override
    public void onEvent(IoasidEvent event) {
        journal.accept(key, event);
    }
}
