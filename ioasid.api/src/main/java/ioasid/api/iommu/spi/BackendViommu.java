package ioasid.api.iommu.spi;

import org.osgi.annotation.versioning.ConsumerType;

/** A backend's part of a vIOMMU (the driver's {@code viommu_init} state). */
@ConsumerType
public interface BackendViommu {
    /**
     * Prepares a virtual device ID for a physical device ({@code vdevice_init}); the core has
     * checked both directions are free. Throwing aborts the allocation (rule 90).
     *
     * <p><em>Configuration call</em> (see {@link IommuBackend}): the core's lock held; may block,
     * the whole core waiting; no call back.
     */
    BackendVdevice vdeviceInit(String device, long virtId);

    /**
     * Tears down the driver's state; called once, after every vDevice was destroyed. Not called
     * when the backend left. A throw is logged; the vIOMMU is gone all the same.
     *
     * <p><em>Configuration call</em> (see {@link IommuBackend}): the core's lock held; may block,
     * the whole core waiting; no call back.
     */
    void destroy();
}
