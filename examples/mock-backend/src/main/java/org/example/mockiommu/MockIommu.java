package org.example.mockiommu;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.BackendViommu;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.Walk;

/**
 * A mock IOMMU, in the spirit of the kernel's iommufd selftest driver: no hardware, its own small
 * page table per domain, a tiny IOTLB that a translation fills and only an invalidation empties,
 * and an invalidation log the tests read through {@link #commandLog()}.
 *
 * <p>One instance per factory configuration of PID {@value #PID}: {@code ioasid.iommu.name} and
 * {@code devices} ({@code name[;sid=N][;group=KEY][;pasid=BITS]}). DS registers it as an
 * {@link IommuBackend}; the IOMMU core takes it from there.
 */
@Component(configurationPid = MockIommu.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = IommuBackend.class, property = IommuBackend.VENDOR + "=" + MockIommu.VENDOR)
public final class MockIommu implements IommuBackend {
    public static final String PID = "example.iommu.mock";
    public static final String VENDOR = "mock";
    /** The selftest's aperture ends below 2 GiB. */
    static final long APERTURE_END = (1L << 31) - 1;

    /** Its configuration, read by DS from the factory configuration's properties. */
    public @interface Config {
        String ioasid_iommu_name() default "mock0";

        String[] devices() default {};
    }

    private final List<DeviceInfo> devices = new ArrayList<>();
    private final Map<String, MockDomain> attached = new ConcurrentHashMap<>();
    private final Map<String, MockDomain> pasids = new ConcurrentHashMap<>();
    private final InvalidationLog log = new InvalidationLog();

    @Activate
    public MockIommu(Config config) {
        String[] specs = config.devices();
        for (int i = 0; i < specs.length; i++) {
            devices.add(DeviceInfo.parse(specs[i], i));
        }
    }

    @Override
    public IommuCaps caps() {
        return IommuCaps.builder(VENDOR).maxPasids(1 << 20).pgsizeBitmap(MockDomain.PAGE)
                .addressBits(31, 48).domainTypes(EnumSet.of(DomainType.BLOCKED,
                        DomainType.IDENTITY, DomainType.UNMANAGED, DomainType.DMA,
                        DomainType.DMA_FQ)).build();
    }

    @Override
    public List<DeviceInfo> devices() {
        return List.copyOf(devices);
    }

    @Override
    public BackendDomain domainAlloc(DomainType type, boolean nestingParent) {
        if (nestingParent || type == DomainType.SVA) {
            throw new IoasidException(Errno.EOPNOTSUPP, "mock: no nesting, no SVA");
        }
        return new MockDomain(type, log);
    }

    @Override
    public BackendDomain svaDomainAlloc(ProcessAddressSpace mm) {
        throw new IoasidException(Errno.EOPNOTSUPP, "mock: no SVA");
    }

    @Override
    public void attachDev(String device, BackendDomain domain) {
        attached.put(device, (MockDomain) domain);
        log.add("ATTACH " + device + " " + domain);
    }

    @Override
    public void detachDev(String device) {
        attached.remove(device);
        log.add("DETACH " + device);
    }

    @Override
    public void setDevPasid(String device, int pasid, BackendDomain domain) {
        pasids.put(device + "/" + pasid, (MockDomain) domain);
        log.add("SET_PASID " + device + " " + pasid + " " + domain);
    }

    @Override
    public void removeDevPasid(String device, int pasid, BackendDomain domain) {
        pasids.remove(device + "/" + pasid);
        log.add("INV_PASID " + device + " " + pasid);
    }

    @Override
    public Walk translate(String device, int pasid, long iova, Access access) {
        MockDomain d = pasid == Ioasid.NO_PASID ? attached.get(device)
                : pasids.get(device + "/" + pasid);
        if (d == null) {
            return Walk.fault("NO_DOMAIN", null);
        }
        return d.walk(iova, access);
    }

    @Override
    public BackendViommu viommuAlloc(BackendDomain nestingParent) {
        throw new IoasidException(Errno.EOPNOTSUPP, "mock: no vIOMMU");
    }

    @Override
    public List<String> commandLog() {
        return log.entries();
    }
}
