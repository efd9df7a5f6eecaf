package org.example.mockiommu;

import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;

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
 * {@link IommuBackend}; the IOMMU core takes it from there. A device list naming a device or
 * stream ID twice is refused: at activation the instance is FAILED ({@link #failure()}), later
 * the change is ({@link #refusedChange()}) and the running list stays. It passes the platform's
 * backend contract suite ({@code MockIommuContractTest}).
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

    private final Map<String, MockDomain> attached = new ConcurrentHashMap<>();
    private final Map<String, MockDomain> pasids = new ConcurrentHashMap<>();
    private final InvalidationLog log = new InvalidationLog();
    private volatile Map<String, DeviceInfo> devices = Map.of();
    private volatile String failure;
    private volatile String refused;
    /** Set when DS deactivates the instance: from then on every call is ENODEV (D17). */
    private volatile boolean gone;

    @Activate
    public MockIommu(Config config) {
        try {
            devices = parse(config.devices());
        } catch (IllegalArgumentException e) {
            failure = "mock: " + e.getMessage();
        }
    }

    /** A new device list applies at once; devices it drops are released. */
    @Modified
    void modified(Config config) {
        Map<String, DeviceInfo> next;
        try {
            next = parse(config.devices());
        } catch (IllegalArgumentException e) {
            if (failure != null) {
                failure = "mock: " + e.getMessage();
            } else {
                refused = "mock: " + e.getMessage();    // keeps running as it was
            }
            return;
        }
        devices = next;
        failure = null;
        refused = null;
        attached.keySet().retainAll(next.keySet());
        pasids.keySet().removeIf(k -> !next.containsKey(k.substring(0, k.lastIndexOf('/'))));
    }

    @Deactivate
    void deactivate() {
        gone = true;
        attached.clear();
        pasids.clear();
    }

    private static Map<String, DeviceInfo> parse(String[] specs) {
        Map<String, DeviceInfo> out = new LinkedHashMap<>();
        Set<Long> sids = new HashSet<>();
        for (int i = 0; i < specs.length; i++) {
            DeviceInfo d = DeviceInfo.parse(specs[i], i);
            if (out.put(d.name(), d) != null || !sids.add(d.streamId())) {
                throw new IllegalArgumentException("device " + d.name() + " listed twice");
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /** The device, or ENODEV when the instance left, is FAILED or does not serve it. */
    private DeviceInfo served(String device) {
        serving();
        DeviceInfo d = devices.get(device);
        if (d == null) {
            throw new IoasidException(Errno.ENODEV, "mock: no device " + device);
        }
        return d;
    }

    private void serving() {
        if (gone) {
            throw new IoasidException(Errno.ENODEV, "mock: the backend left");
        }
        String why = failure;
        if (why != null) {
            throw new IoasidException(Errno.ENODEV, why);
        }
    }

    @Override
    public String failure() {
        return failure;
    }

    @Override
    public String refusedChange() {
        return refused;
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
        return List.copyOf(devices.values());
    }

    @Override
    public BackendDomain domainAlloc(DomainType type, boolean nestingParent) {
        serving();
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
        served(device);
        attached.put(device, mine(domain));
        log.add("ATTACH " + device + " " + domain);
    }

    @Override
    public void detachDev(String device) {
        served(device);
        attached.remove(device);
        log.add("DETACH " + device);
    }

    /** A domain this instance allocated: hardware cannot point at another unit's tables. */
    private MockDomain mine(BackendDomain domain) {
        if (!(domain instanceof MockDomain) || !((MockDomain) domain).keptIn(log)) {
            throw new IoasidException(Errno.EINVAL, "mock: " + domain + " is not a domain of "
                    + "this instance");
        }
        return (MockDomain) domain;
    }

    /** PASID 0 is DMA without PASID; a device takes PASIDs below 2^its width (rules 33, 34). */
    @Override
    public void setDevPasid(String device, int pasid, BackendDomain domain) {
        DeviceInfo d = served(device);
        if (pasid <= Ioasid.NO_PASID || d.pasidBits() == 0 || pasid >= 1L << d.pasidBits()) {
            throw new IoasidException(Errno.EINVAL, "mock: " + device + " has no PASID " + pasid);
        }
        MockDomain present = pasids.putIfAbsent(device + "/" + pasid, mine(domain));
        if (present != null && present != domain) {
            throw new IoasidException(Errno.EBUSY, "mock: PASID " + pasid + " of " + device
                    + " is on " + present);
        }
        log.add("SET_PASID " + device + " " + pasid + " " + domain);
    }

    @Override
    public void removeDevPasid(String device, int pasid, BackendDomain domain) {
        served(device);
        pasids.remove(device + "/" + pasid);
        log.add("INV_PASID " + device + " " + pasid);
    }

    @Override
    public Walk translate(String device, int pasid, long iova, Access access) {
        serving();
        MockDomain d = pasid == Ioasid.NO_PASID ? attached.get(device)
                : pasids.get(device + "/" + pasid);
        if (d == null) {
            return Walk.fault("NO_DOMAIN", null);
        }
        return d.walk(iova, access);
    }

    @Override
    public BackendViommu viommuAlloc(BackendDomain nestingParent) {
        serving();
        throw new IoasidException(Errno.EOPNOTSUPP, "mock: no vIOMMU");
    }

    @Override
    public List<String> commandLog() {
        return log.entries();
    }
}
