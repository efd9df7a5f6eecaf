package ioasid.testkit.contracts;

import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import ioasid.api.IoasidService;
import ioasid.api.spi.IoasidAllocator;
import ioasid.api.spi.IoasidListener;
import ioasid.core.impl.IoasidCore;

/** An IOASID core bound by hand: each registration gets a service id, as the framework gives. */
final class CorePlatform implements ContractPlatform {
    private static final String SERVICE_ID = "service.id";
    private static final AtomicLong SERVICE_IDS = new AtomicLong(1_000_000);

    private final IoasidCore core;
    private final Map<Object, Map<String, Object>> registered = new IdentityHashMap<>();

    CorePlatform(int idBits, long stallTimeoutMillis) {
        this.core = new IoasidCore(idBits, stallTimeoutMillis);
    }

    @Override
    public IoasidService service() {
        return core;
    }

    private synchronized Map<String, Object> add(Object service, Map<String, Object> properties) {
        Map<String, Object> p = new HashMap<>(properties);
        p.put(SERVICE_ID, SERVICE_IDS.incrementAndGet());
        registered.put(service, p);
        return p;
    }

    private synchronized Map<String, Object> remove(Object service) {
        return registered.remove(service);
    }

    @Override
    public void registerListener(IoasidListener listener, Map<String, Object> properties) {
        core.bindListener(listener, add(listener, properties));
    }

    @Override
    public void unregisterListener(IoasidListener listener) {
        Map<String, Object> p = remove(listener);
        if (p != null) {
            core.unbindListener(listener, p);
        }
    }

    @Override
    public void registerAllocator(IoasidAllocator allocator, Map<String, Object> properties) {
        core.bindAllocator(allocator, add(allocator, properties));
    }

    @Override
    public void unregisterAllocator(IoasidAllocator allocator) {
        Map<String, Object> p = remove(allocator);
        if (p != null) {
            core.unbindAllocator(allocator, p);
        }
    }

    @Override
    public void close() {
        core.close();
    }
}
