package ioasid.integration.stress.tiny;

import java.util.Dictionary;
import java.util.Hashtable;
import java.util.function.IntBinaryOperator;
import java.util.function.IntConsumer;

import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;

import ioasid.api.spi.IoasidAllocator;

/**
 * The activator of an allocator bundle built at test time. Each start registers this activator
 * instance (a new object per start) as a custom IOASID allocator, named, ranked and with the
 * helper identity its manifest gives, that forwards alloc and free to a host the test registered
 * ({@code IntBinaryOperator} and {@code IntConsumer} with {@code stress.host=<Allocator-Host>}).
 * The host decides what happens: lowest-free, throw, block. Stopping or updating the bundle takes
 * the allocator away, as unplugging a vIOMMU does.
 *
 * <p>Only {@code java.*}, {@code org.osgi.framework} and {@code ioasid.api.spi} are used, so the
 * bundle imports nothing else.
 */
public class ForwardingAllocatorActivator implements BundleActivator, IoasidAllocator {
    private IntBinaryOperator hostAlloc;
    private IntConsumer hostFree;
    private Object helpers;

    @Override
    public void start(BundleContext ctx) throws Exception {
        Dictionary<String, String> h = ctx.getBundle().getHeaders();
        String host = h.get("Allocator-Host");
        String identity = h.get("Allocator-Helpers");
        // interned: equal to, and the same object as, the identity the test holds; not interned:
        // an equal but distinct object per start (as a helper record or string built at runtime)
        helpers = Boolean.parseBoolean(h.get("Allocator-Intern")) ? identity.intern()
                : new String(identity);
        ServiceReference<?>[] refs = ctx.getServiceReferences(IntBinaryOperator.class.getName(),
                "(stress.host=" + host + ")");
        if (refs == null) {
            throw new IllegalStateException("no stress host " + host);
        }
        Object svc = ctx.getService(refs[0]);
        hostAlloc = (IntBinaryOperator) svc;
        hostFree = (IntConsumer) svc;
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(Constants.SERVICE_RANKING, Integer.valueOf(h.get("Allocator-Ranking")));
        p.put(IoasidAllocator.NAME, h.get("Allocator-Name"));
        ctx.registerService(IoasidAllocator.class.getName(), this, p);
    }

    @Override
    public void stop(BundleContext ctx) {
        // the framework unregisters the allocator with the bundle
    }

    @Override
    public int alloc(int min, int max) {
        return hostAlloc.applyAsInt(min, max);
    }

    @Override
    public void free(int id) {
        hostFree.accept(id);
    }

    @Override
    public Object helpers() {
        return helpers;
    }
}
