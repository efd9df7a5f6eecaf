package ioasid.api.iommu.spi;

import org.osgi.annotation.versioning.ConsumerType;

/** A backend's part of a vIOMMU (the driver's {@code viommu_init} state). */
@ConsumerType
public interface BackendViommu {
    /**
     * Prepares a virtual device ID for a physical device ({@code vdevice_init}); the core has
     * checked both directions are free. Throwing aborts the allocation (rule 90).
     */
    BackendVdevice vdeviceInit(String device, long virtId);

    /** Tears down the driver's state; called once, after every vDevice was destroyed. */
    void destroy();
}
