package org.example.mockiommu;

import java.util.List;
import java.util.Map;

import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.testkit.ComponentConfig;
import ioasid.testkit.contracts.IommuBackendContract;

/** The mock held to the platform's backend contract, built and configured as DS would. */
class MockIommuContractTest extends IommuBackendContract {

    private static MockIommu.Config config(List<DeviceInfo> devices) {
        return ComponentConfig.of(MockIommu.Config.class, Map.of("devices", specs(devices)));
    }

    @Override
    protected IommuBackend createBackend(List<DeviceInfo> devices) {
        return new MockIommu(config(devices));
    }

    @Override
    protected void reconfigure(IommuBackend backend, List<DeviceInfo> devices) {
        ((MockIommu) backend).modified(config(devices));
    }

    @Override
    protected void leave(IommuBackend backend) {
        ((MockIommu) backend).deactivate();
    }
}
