package ioasid.backend.smmuv3.impl;

import java.util.List;
import java.util.Map;

import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.testkit.ComponentConfig;
import ioasid.testkit.contracts.IommuBackendContract;

/** The SMMUv3 backend held to the backend contract, configured and stopped as SCR would. */
class Smmuv3ContractTest extends IommuBackendContract {

    private static Smmuv3Backend.Config config(List<DeviceInfo> devices) {
        return ComponentConfig.of(Smmuv3Backend.Config.class,
                Map.of("devices", specs(devices)));
    }

    @Override
    protected IommuBackend createBackend(List<DeviceInfo> devices) {
        return new Smmuv3Backend(config(devices), Map.of());
    }

    @Override
    protected void reconfigure(IommuBackend backend, List<DeviceInfo> devices) {
        ((Smmuv3Backend) backend).modified(config(devices), Map.of());
    }

    @Override
    protected void leave(IommuBackend backend) {
        ((Smmuv3Backend) backend).deactivate();
    }
}
