package ioasid.core.iommu;

import ioasid.api.iommu.spi.IommuBackend;

/** Lets tests of other packages build the test backend. */
public final class TestBackendAccess {
    public IommuBackend backend(String name, String device) {
        return new TestBackend(name, 64).device(device, device, 6);
    }
}
