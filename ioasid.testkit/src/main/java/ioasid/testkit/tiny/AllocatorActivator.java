package ioasid.testkit.tiny;

import java.util.BitSet;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.function.Consumer;

import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

import ioasid.api.Ioasid;
import ioasid.api.spi.IoasidAllocator;

/**
 * The activator of an allocator bundle built at test time (TinyBundles.allocator): each start
 * registers this activator instance as a custom IOASID allocator, named, ranked and with the
 * helper identity its manifest gives, handing out the lowest free ID of the range asked from a
 * table of its own. It is copied alone into the bundle, so it uses only java.*,
 * org.osgi.framework and ioasid.api.spi (Ioasid.INVALID is a constant, inlined by javac).
 */
public class AllocatorActivator implements BundleActivator, IoasidAllocator {
    private final BitSet used = new BitSet();
    private BundleContext context;
    private String name;
    private Object helpers;

    @Override
    public void start(BundleContext ctx) {
        context = ctx;
        Dictionary<String, String> h = ctx.getBundle().getHeaders();
        name = h.get("Allocator-Name");
        // interned: allocators built with equal helpers share one ID space, across restarts too
        helpers = h.get("Allocator-Helpers").intern();
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(Constants.SERVICE_RANKING, Integer.valueOf(h.get("Allocator-Ranking")));
        p.put(IoasidAllocator.NAME, name);
        ctx.registerService(IoasidAllocator.class, this, p);
    }

    @Override
    public void stop(BundleContext ctx) {
        // the framework unregisters the allocator with the bundle
    }

    @Override
    public synchronized int alloc(int min, int max) {
        int id = used.nextClearBit(min);
        if (id > max || id < 0) {
            return Ioasid.INVALID;
        }
        used.set(id);
        journal(name + ":alloc " + id);
        return id;
    }

    @Override
    public synchronized void free(int id) {
        used.clear(id);
        journal(name + ":free " + id);
    }

    @Override
    public Object helpers() {
        return helpers;
    }

    @SuppressWarnings("unchecked")
    private void journal(String line) {
        try {
            ServiceReference<?>[] refs = context.getServiceReferences(Consumer.class.getName(),
                    "(journal=ioasid)");
            if (refs != null) {
                ((Consumer<String>) context.getService(refs[0])).accept(line);
                context.ungetService(refs[0]);
            }
        } catch (InvalidSyntaxException | IllegalStateException e) {
            // no journal, or the bundle is stopping: nothing to write to
        }
    }
}
