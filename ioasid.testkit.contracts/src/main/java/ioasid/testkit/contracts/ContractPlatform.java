package ioasid.testkit.contracts;

import java.util.Map;

import org.osgi.annotation.versioning.ConsumerType;

import ioasid.api.IoasidService;
import ioasid.api.spi.IoasidAllocator;
import ioasid.api.spi.IoasidListener;

/**
 * The IOASID service the allocator and listener suites deliver through, and the whiteboard they
 * register the plug-in with. By default ({@link #core}) an IOASID core built for one test and
 * bound by hand as Declarative Services would bind it; inside an OSGi framework a suite can
 * supply one that registers services with the framework instead.
 */
@ConsumerType
public interface ContractPlatform extends AutoCloseable {

    /** The IOASID service: what the plug-in may call back, and what the suites call. */
    IoasidService service();

    /** Registers a listener with these service properties (scope, events, ranking, name). */
    void registerListener(IoasidListener listener, Map<String, Object> properties);

    void unregisterListener(IoasidListener listener);

    /** Registers an allocator with these service properties (ranking, name). */
    void registerAllocator(IoasidAllocator allocator, Map<String, Object> properties);

    void unregisterAllocator(IoasidAllocator allocator);

    /** Stops the service; what is registered is dropped with it. */
    @Override
    void close();

    /**
     * A new IOASID core of {@code idBits} bits whose listener stall timeout is
     * {@code stallTimeoutMillis}, outside any framework. Needs {@code ioasid.core} on the class
     * path.
     */
    static ContractPlatform core(int idBits, long stallTimeoutMillis) {
        return new CorePlatform(idBits, stallTimeoutMillis);
    }
}
