package ioasid.backend.virtio.impl;

import java.util.List;
import java.util.Map;

import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.testkit.ComponentConfig;
import ioasid.testkit.contracts.IommuBackendContract;

/** A virtio-iommu held to the backend contract, configured and stopped as SCR would. */
class VirtioContractTest extends IommuBackendContract {

    private static VirtioIommuBackend.Config config(List<DeviceInfo> devices) {
        return ComponentConfig.of(VirtioIommuBackend.Config.class,
                Map.of("devices", specs(devices)));
    }

    @Override
    protected IommuBackend createBackend(List<DeviceInfo> devices) {
        return new VirtioIommuBackend(config(devices), null, Map.of());
    }

    @Override
    protected void reconfigure(IommuBackend backend, List<DeviceInfo> devices) {
        ((VirtioIommuBackend) backend).modified(config(devices), Map.of());
    }

    @Override
    protected void leave(IommuBackend backend) {
        ((VirtioIommuBackend) backend).deactivate();
    }
}
