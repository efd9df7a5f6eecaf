package ioasid.backend.vtd.impl;

import java.util.List;
import java.util.Map;

import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.testkit.ComponentConfig;
import ioasid.testkit.contracts.IommuBackendContract;

/** A VT-d unit held to the backend contract, configured and stopped as SCR would. */
class VtdContractTest extends IommuBackendContract {

    private static VtdBackend.Config config(List<DeviceInfo> devices) {
        return ComponentConfig.of(VtdBackend.Config.class, Map.of("devices", specs(devices)));
    }

    @Override
    protected IommuBackend createBackend(List<DeviceInfo> devices) {
        return new VtdBackend(null, config(devices), Map.of(), null);
    }

    @Override
    protected void reconfigure(IommuBackend backend, List<DeviceInfo> devices) {
        ((VtdBackend) backend).modified(config(devices), Map.of());
    }

    @Override
    protected void leave(IommuBackend backend) {
        ((VtdBackend) backend).deactivate();
    }
}
