package ioasid.api.iommu.spi;

import org.osgi.annotation.versioning.ConsumerType;

/** A backend's part of a virtual device ID. */
@ConsumerType
public interface BackendVdevice {
    /**
     * Called once, before the core releases the virtual ID (rule 91): when the vDevice is
     * destroyed, its vIOMMU torn down or its device leaves. Not called when the backend left.
     * A throw is logged; the vDevice is gone all the same.
     *
     * <p><em>Configuration call</em> (see {@link IommuBackend}): the core's lock held; may block,
     * the whole core waiting; no call back.
     */
    void destroy();
}
