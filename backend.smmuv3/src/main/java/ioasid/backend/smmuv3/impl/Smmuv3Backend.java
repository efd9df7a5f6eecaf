package ioasid.backend.smmuv3.impl;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.spi.BackendConfigurations;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.BackendViommu;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.Walk;

/*
 * One ARM SMMUv3, configured by one factory configuration and registered as an IommuBackend.
 * This class is the component only: the driver's logic is Smmuv3Driver, the hardware Smmu, the
 * domains Smmuv3Domain, the vIOMMUs Smmuv3Viommu.
 *
 * Rules (decisions D2, D16, D17 in docs/decisions.md):
 *  1. Devices come from the configuration in DeviceInfo.parse form (D16), applied live; a bad
 *     device list is rejected whole and the old one kept. Hardware parameters (Smmuv3Params)
 *     take effect when the component restarts.
 *  2. After deactivation every call is ENODEV (D17).
 *
 * Records: every record of this bundle declares equals, hashCode and toString itself (equals and
 * hashCode compute what the generated ones would). The generated ones are linked through
 * java.lang.runtime.ObjectMethods, whose JDK-wide method handles keep the last types they were
 * adapted to, the record's and its components' (JDK-8078641, not fixed in Java 17): the last
 * backend record compared, hashed or printed would keep this bundle's class loader reachable
 * after it is uninstalled (D17).
 */
@Component(configurationPid = Smmuv3Backend.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = IommuBackend.class,
        property = {IommuBackend.VENDOR + "=" + Smmuv3Backend.VENDOR,
            IommuBackend.NAME + "=smmu0"})
@Designate(ocd = Smmuv3Backend.Config.class, factory = true)
public final class Smmuv3Backend implements IommuBackend {
    public static final String PID = "ioasid.backend.smmuv3";
    public static final String VENDOR = "smmuv3";

    @ObjectClassDefinition(name = "ARM SMMUv3 IOMMU",
            description = "One SMMUv3 instance and the endpoints behind it")
    public @interface Config {
        @AttributeDefinition(name = "Instance name",
                description = "Unique on the platform; published as ioasid.iommu.name")
        String ioasid_iommu_name() default "smmu0";

        @AttributeDefinition(name = "Devices",
                description = "One endpoint per entry: name[;sid=N][;group=KEY][;pasid=BITS]. "
                        + "Without sid a device gets its position in the list. Applied live.")
        String[] devices() default {};

        @AttributeDefinition(name = "SSIDSIZE",
                description = "IDR1.SSIDSIZE, bits of SubstreamID (0: no PASIDs)",
                min = "0", max = "20")
        int ssid_bits() default 16;

        @AttributeDefinition(name = "SIDSIZE", description = "IDR1.SIDSIZE, bits of StreamID",
                min = "1", max = "32")
        int sid_bits() default 16;

        @AttributeDefinition(name = "CD2L", description = "IDR0.CD2L: two-level CD tables")
        boolean cd2l() default true;

        @AttributeDefinition(name = "ASID16", description = "IDR0.ASID16: 16-bit ASIDs, else 8")
        boolean asid16() default true;

        @AttributeDefinition(name = "VMID16", description = "IDR0.VMID16: 16-bit VMIDs, else 8")
        boolean vmid16() default true;

        @AttributeDefinition(name = "IAS", description = "Input address bits of the page tables",
                min = "32", max = "48")
        int ias() default 48;

        @AttributeDefinition(name = "OAS", description = "IDR5.OAS in bits: 32, 36, 40, 42, 44 "
                + "or 48")
        int oas() default 48;

        @AttributeDefinition(name = "Nesting",
                description = "Stage 1 and stage 2: nesting parents and vIOMMUs")
        boolean nesting() default true;

        @AttributeDefinition(name = "SVA",
                description = "Shared virtual addressing with CPU ASIDs (BTM)")
        boolean sva() default true;

        @AttributeDefinition(name = "Table memory (KiB)",
                description = "Memory for stream, CD and page tables; exhausting it gives ENOMEM",
                min = "64")
        long table_memory_kib() default 65536;

        @AttributeDefinition(name = "Command log size",
                description = "How many commands commandLog() keeps", min = "1")
        int command_log_size() default 4096;
    }

    private static final System.Logger LOG = System.getLogger("ioasid.backend.smmuv3");

    /** Null while the instance is FAILED: its configuration was refused. */
    volatile Smmuv3Driver driver;
    private final String source;
    private volatile String failure;
    private volatile String refused;

    @Activate
    public Smmuv3Backend(Config config, Map<String, Object> properties) {
        this.source = BackendConfigurations.source(properties);
        String problem = BackendConfigurations.problem(properties);
        if (problem == null) {
            try {
                driver = start(config.ioasid_iommu_name(), Arrays.asList(config.devices()),
                        Smmuv3Params.from(config));
                return;
            } catch (IllegalArgumentException e) {
                problem = e.getMessage();
            }
        }
        failure = problem;
        LOG.log(System.Logger.Level.WARNING, source + ": " + problem + "; SMMU "
                + config.ioasid_iommu_name() + " not started");
    }

    /** Builds an instance from its configuration alone, as outside a framework. */
    public Smmuv3Backend(Config config) {
        this(config, Map.of());
    }

    /**
     * Builds an instance without a framework.
     *
     * @param devices entries in {@link DeviceInfo#parse} form
     * @throws IllegalArgumentException for bad device entries
     */
    Smmuv3Backend(String name, List<String> devices, Smmuv3Params params) {
        this.source = "SMMU " + name;
        this.driver = start(name, devices, params);
    }

    private static Smmuv3Driver start(String name, List<String> devices, Smmuv3Params params) {
        Smmuv3Driver d = new Smmuv3Driver(Objects.requireNonNull(name, "name"),
                Objects.requireNonNull(params, "params"));
        d.setDevices(devices);
        return d;
    }

    /**
     * A mended configuration starts a FAILED instance; on a running one a refused change keeps
     * the previous configuration, with one line saying why.
     */
    @Modified
    void modified(Config config, Map<String, Object> properties) {
        String problem = BackendConfigurations.problem(properties);
        Smmuv3Driver d = driver;
        if (d == null) {
            if (problem == null) {
                try {
                    driver = start(config.ioasid_iommu_name(), Arrays.asList(config.devices()),
                            Smmuv3Params.from(config));
                    failure = null;
                    LOG.log(System.Logger.Level.INFO, source + ": SMMU "
                            + config.ioasid_iommu_name() + " started");
                    return;
                } catch (IllegalArgumentException e) {
                    problem = e.getMessage();
                }
            }
            failure = problem;
            LOG.log(System.Logger.Level.WARNING, source + ": " + problem + "; SMMU "
                    + config.ioasid_iommu_name() + " not started");
            return;
        }
        String name = d.name;
        if (problem != null) {
            refuse(name, problem);
            return;
        }
        Smmuv3Params hw = d.params;
        try {
            Smmuv3Params next = Smmuv3Params.from(config);
            if (!next.equals(hw)) {
                LOG.log(System.Logger.Level.WARNING, "SMMU " + name + ": hardware parameters ("
                        + next + ") take effect when the component restarts; still " + hw);
            }
        } catch (IllegalArgumentException e) {
            refuse(name, e.getMessage());
            return;
        }
        if (!config.ioasid_iommu_name().equals(name)) {
            LOG.log(System.Logger.Level.WARNING, "SMMU " + name + " renamed to "
                    + config.ioasid_iommu_name() + "; the service property follows at once");
        }
        try {
            d.setDevices(Arrays.asList(config.devices()));
        } catch (IllegalArgumentException e) {
            refuse(name, e.getMessage());
            return;
        }
        refused = null;
    }

    private void refuse(String name, String problem) {
        refused = problem;
        LOG.log(System.Logger.Level.WARNING, source + ": " + problem + "; SMMU " + name
                + " keeps its configuration");
    }

    @Deactivate
    void deactivate() {
        Smmuv3Driver d = driver;
        if (d != null) {
            d.close();
        }
    }

    private Smmuv3Driver live() {
        Smmuv3Driver d = driver;
        if (d == null) {
            throw new IoasidException(Errno.ENODEV, source + " was refused: " + failure);
        }
        return d;
    }

    @Override
    public String failure() {
        return failure;
    }

    @Override
    public String refusedChange() {
        return refused;
    }

    // ------------------------------------------------------------------ IommuBackend

    @Override
    public IommuCaps caps() {
        return live().caps();
    }

    @Override
    public List<DeviceInfo> devices() {
        return live().devices();
    }

    @Override
    public BackendDomain domainAlloc(DomainType type, boolean nestingParent) {
        return live().domainAlloc(type, nestingParent);
    }

    @Override
    public BackendDomain svaDomainAlloc(ProcessAddressSpace mm) {
        return live().svaDomainAlloc(mm);
    }

    @Override
    public void attachDev(String device, BackendDomain domain) {
        live().attachDev(device, domain);
    }

    @Override
    public void replaceDev(String device, BackendDomain old, BackendDomain domain) {
        live().replace.dev(device, old, domain);
    }

    @Override
    public void replaceDevPasid(String device, int pasid, BackendDomain old,
            BackendDomain domain) {
        live().replace.pasid(device, pasid, old, domain);
    }

    @Override
    public void detachDev(String device) {
        live().detachDev(device);
    }

    @Override
    public void setDevPasid(String device, int pasid, BackendDomain domain) {
        live().setDevPasid(device, pasid, domain);
    }

    @Override
    public void removeDevPasid(String device, int pasid, BackendDomain domain) {
        live().removeDevPasid(device, pasid, domain);
    }

    @Override
    public Walk translate(String device, int pasid, long iova, Access access) {
        return live().translate(device, pasid, iova, access);
    }

    @Override
    public BackendViommu viommuAlloc(BackendDomain nestingParent) {
        return live().viommuAlloc(nestingParent);
    }

    @Override
    public List<String> commandLog() {
        return live().commandLog();
    }

    @Override
    public String toString() {
        Smmuv3Driver d = driver;
        return d == null ? "SMMUv3 (" + source + ", FAILED: " + failure + ")"
                : "SMMUv3 " + d.name + " " + d.params;
    }
}
