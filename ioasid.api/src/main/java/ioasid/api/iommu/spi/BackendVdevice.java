package ioasid.api.iommu.spi;

import org.osgi.annotation.versioning.ConsumerType;

/** A backend's part of a virtual device ID. */
@ConsumerType
public interface BackendVdevice {
    /** Called once, before the core releases the virtual ID (rule 91). */
    void destroy();
}
