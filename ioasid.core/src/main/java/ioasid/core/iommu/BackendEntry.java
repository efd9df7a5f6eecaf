package ioasid.core.iommu;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommu.spi.IommuCaps;

/** One live backend service. Fields change under the IOMMU mutex. */
final class BackendEntry {
    final long serviceId;
    final String name;
    /** Dropped when the backend leaves, so dead handles do not keep its classes reachable. */
    volatile IommuBackend backend;
    /** Read once when it first serves; null while it is FAILED from the start. */
    volatile IommuCaps caps;
    final String vendor;
    /** Why it does not serve (IommuBackend.failure), or null. */
    volatile String failure;
    /** The last configuration change it refused, or null. */
    volatile String refused;
    /**
     * Read-held by calls that reach the hardware without the mutex (translate, page tables);
     * write-held while the backend or one of its domains dies, so no such call runs into a dead
     * object.
     */
    final ReentrantReadWriteLock dataPath = new ReentrantReadWriteLock();
    final Map<String, DeviceEntry> devices = new LinkedHashMap<>();
    final List<String> rejected = new ArrayList<>();
    volatile boolean gone;
    /** Its faults, shared with the entries of the same name before and after it. */
    final BackendFaults faults;
    /** Its attach, map and unmap counts, shared like {@link #faults}. */
    final BackendOps ops;

    BackendEntry(long serviceId, String name, String vendor, IommuBackend backend,
            IommuCaps caps, BackendFaults faults, BackendOps ops) {
        this.serviceId = serviceId;
        this.name = name;
        this.vendor = vendor;
        this.backend = backend;
        this.caps = caps;
        this.faults = faults;
        this.ops = ops;
    }

    @Override
    public String toString() {
        return name + " (" + vendor + ", service " + serviceId + ")";
    }
}
