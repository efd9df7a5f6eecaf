package ioasid.testkit.contracts;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.spi.IoasidListener;
import ioasid.core.iommu.IommuCore;

/**
 * The IOMMU core's FREE listener held to the listener contract: besides the suite's own IDs,
 * global PASIDs attached to a device are freed under it, so that its real reaction (detaching
 * them from the backend, rule 39) runs inside the watched calls.
 */
class IommuCoreListenerContractTest extends IoasidListenerContract {
    private static final String DEVICE = "0000:00:01.0";

    private IommuCore iommu;

    @AfterEach
    void closeIommu() {
        if (iommu != null) {
            iommu.close();
        }
    }

    @Override
    protected IoasidListener createListener(IoasidService service) {
        iommu = new IommuCore(service, DomainType.DMA_FQ, 4096);
        return iommu;
    }

    @Override
    protected Map<String, Object> serviceProperties() {
        return Map.of("service.ranking", IoasidListener.PRIORITY_IOMMU,
                IoasidListener.EVENTS, "FREE", IoasidListener.NAME, "iommu-core");
    }

    @Override
    protected void exercise(IoasidService service) {
        MockIommu mock = new MockIommu(List.of(new DeviceInfo(DEVICE, DEVICE, 8, 8)),
                EnumSet.noneOf(MockIommu.Mutation.class));
        iommu.bindBackend(mock, Map.of("service.id", 4242L, IommuBackend.NAME, "mock0"));
        IommuDomain d = iommu.domainAlloc(DEVICE, false);
        for (int i = 0; i < 3; i++) {
            IoasidHandle pasid = iommu.allocGlobalPasid(DEVICE);
            iommu.attachDevicePasid(d, DEVICE, pasid);
            service.free(pasid);
        }
        assertEquals(0, iommu.pasids().length, "PASIDs left attached after their FREE");
        iommu.domainFree(d);
    }
}
