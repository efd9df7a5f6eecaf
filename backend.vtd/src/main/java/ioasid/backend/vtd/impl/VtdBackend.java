package ioasid.backend.vtd.impl;

import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidService;
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
import ioasid.api.spi.IoasidAllocator;

/**
 * One Intel VT-d DMA-remapping unit (a DMAR unit of the ACPI DMAR table, or a guest's vIOMMU),
 * configured by one factory configuration, registered as an {@link IommuBackend}: the driver
 * ({@link VtdDriver}) over the unit's hardware model ({@link DmarUnit}). Every IommuBackend call
 * goes to the driver. A new device list or name applies at once; new hardware parameters wait
 * for a restart.
 *
 * <p>When the unit is a guest's vIOMMU that allocates PASIDs through virtual commands (caching
 * mode, scalable mode, ECAP.VCS, VCCAP.PAS; rule 30), the component also registers an
 * {@link IoasidAllocator} service for its own lifetime. Every instance's allocator shares one
 * helper identity, so hot-unplugging one vIOMMU leaves the PASIDs it handed out with the others
 * (rules 25, 32). Only such a unit binds a host IOASID service (the {@code host} reference): it is
 * rebuilt when its host arrives or leaves, and every other unit's configuration is given a host
 * target that matches nothing, so that a host coming or going leaves it alone ({@link
 * VtdHostTarget}).
 *
 * <p>Records: every record of this bundle declares equals, hashCode and toString itself (equals
 * and hashCode compute what the generated ones would). The generated ones are linked through
 * {@code java.lang.runtime.ObjectMethods}, whose JDK-wide method handles keep the last types they
 * were adapted to, the record's and its components' (JDK-8078641, not fixed in Java 17): the last
 * backend record compared, hashed or printed would keep this bundle's class loader reachable
 * after it is uninstalled (D17).
 */
@Component(configurationPid = VtdBackend.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = IommuBackend.class, property = IommuBackend.VENDOR + "=" + VtdBackend.VENDOR)
@Designate(ocd = VtdBackend.Config.class, factory = true)
public final class VtdBackend implements IommuBackend {
    public static final String PID = "ioasid.backend.vtd";
    public static final String VENDOR = "vtd";
    /** The service property a host IOASID service carries to serve guests' virtual commands. */
    public static final String VCMD_HOST = "ioasid.vcmd.host";

    @ObjectClassDefinition(name = "Intel VT-d unit",
            description = "One DMA-remapping unit: its capability registers and its devices")
    public @interface Config {
        @AttributeDefinition(name = "Name", description = "Instance name, unique on the platform")
        String ioasid_iommu_name() default "dmar0";

        @AttributeDefinition(name = "Devices",
                description = "name[;sid=RID][;group=KEY][;pasid=BITS]; the StreamID is the PCI "
                        + "requester ID (bus << 8 | devfn), by default the one a PCI address "
                        + "name gives. Changes apply at once.")
        String[] devices() default {};

        @AttributeDefinition(name = "ECAP.PSS",
                description = "PASID size: N means N+1 bits (19 = 20 bits; QEMU offers 7)",
                min = "0", max = "19")
        int pss() default 19;

        @AttributeDefinition(name = "CAP.CM",
                description = "Caching mode: the unit is a vIOMMU in a guest")
        boolean caching_mode() default false;

        @AttributeDefinition(name = "ECAP.SMTS", description = "Scalable mode")
        boolean scalable_mode() default true;

        @AttributeDefinition(name = "ECAP.FLTS", description = "First-level translation (SVA)")
        boolean first_level() default true;

        @AttributeDefinition(name = "ECAP.SLTS", description = "Second-level translation")
        boolean second_level() default true;

        @AttributeDefinition(name = "ECAP.PT", description = "Pass-through (identity domains)")
        boolean pass_through() default true;

        @AttributeDefinition(name = "ECAP.NEST", description = "Nested translation (vIOMMUs)")
        boolean nesting() default false;

        @AttributeDefinition(name = "ECAP.VCS + VCCAP.PAS",
                description = "Virtual commands for PASID allocation (a guest's vIOMMU)")
        boolean vcmd() default false;

        @AttributeDefinition(name = "ECAP.C", description = "Coherent table walks (no clflush)")
        boolean coherent() default true;

        @AttributeDefinition(name = "Fault ignore",
                description = "Torn-down PASID entries keep FPD=1")
        boolean fault_ignore() default false;

        @AttributeDefinition(name = "ECAP.DT", description = "Device-TLBs (ATS) to invalidate")
        boolean ats() default true;

        @AttributeDefinition(name = "CAP.RWBF", description = "Write buffer needs flushing")
        boolean rwbf() default true;

        @AttributeDefinition(name = "CAP.ND", description = "2^(4 + 2*ND) domain IDs",
                min = "0", max = "6")
        int nd() default 6;

        @AttributeDefinition(name = "CAP.SLLPS", description = "Superpages: 1 = 2 MiB, 2 = 1 GiB",
                min = "0", max = "3")
        int superpages() default 3;

        @AttributeDefinition(name = "CAP.MAMV",
                description = "Largest page-selective invalidation mask", min = "0", max = "63")
        int mamv() default 9;

        @AttributeDefinition(name = "VM", description = "The VM whose host answers virtual commands")
        String vcmd_vm() default "vm0";

        @AttributeDefinition(name = "VM quota",
                description = "Host PASIDs the VM may hold; 0 takes all the host has left")
        int vcmd_quota() default 4096;

        @AttributeDefinition(name = "Host IOASID service filter",
                description = "Target of the host reference; a service matching it answers virtual "
                        + "commands (never the guest's own IOASID service). Used only with caching "
                        + "mode, scalable mode and VCMD: any other unit binds no host.")
        String host_target() default "(" + VCMD_HOST + "=true)";
    }

    private static final System.Logger LOG = System.getLogger("ioasid.backend.vtd");

    private final BundleContext context;
    private final IoasidService host;
    private final String source;
    /** Null while the unit is FAILED: its configuration was refused. */
    private volatile VtdDriver driver;
    private volatile VcmdHost vcmdHost;
    private volatile VcmdAllocator allocator;
    private ServiceRegistration<IoasidAllocator> allocatorRegistration;
    private volatile String failure;
    private volatile String refused;

    /**
     * DS activation. The optional host service answers the guest's virtual commands; without it
     * the VMM model uses a PASID space of its own. The reference is static on purpose, and
     * {@link VtdHostTarget} keeps it empty on a unit without virtual commands. A refused
     * configuration leaves the unit FAILED, registered with the reason, instead of failing the
     * activation.
     */
    @Activate
    public VtdBackend(BundleContext context, Config config, Map<String, Object> properties,
            @Reference(name = "host", cardinality = ReferenceCardinality.OPTIONAL,
                    policyOption = ReferencePolicyOption.GREEDY,
                    target = "(" + VCMD_HOST + "=true)") IoasidService host) {
        this.context = context;
        this.host = host;
        this.source = BackendConfigurations.source(properties);
        startOrFail(config, properties, false);
    }

    /**
     * Builds a unit from its configuration outside a framework (no properties of a
     * configuration, so nothing refused before it); a refused configuration throws.
     *
     * @throws ioasid.api.IoasidException EINVAL for a bad device list
     * @throws IllegalArgumentException for hardware parameters out of range
     */
    public VtdBackend(BundleContext context, Config config, IoasidService host) {
        this.context = context;
        this.host = host;
        this.source = "VT-d " + config.ioasid_iommu_name();
        start(config);
    }

    /**
     * Builds a unit without a framework.
     *
     * @param vcmdHost the VMM answering virtual commands, or null to get a shared one for
     *     {@code vm} from {@code host} (or from the VMM's own space when {@code host} is null)
     */
    VtdBackend(String name, List<DeviceInfo> devices, VtdParams params, VcmdHost vcmdHost) {
        this.context = null;
        this.host = null;
        this.source = "VT-d " + name;
        start(name, devices, params, vcmdHost, "vm0", 0);
    }

    private void startOrFail(Config config, Map<String, ?> properties, boolean again) {
        String problem = BackendConfigurations.problem(properties);
        if (problem == null) {
            try {
                start(config);
                failure = null;
                if (again) {
                    LOG.log(System.Logger.Level.INFO, source + ": " + config.ioasid_iommu_name()
                            + " started");
                }
                return;
            } catch (IllegalArgumentException | IoasidException e) {
                problem = message(e);
            }
        }
        failure = problem;
        LOG.log(System.Logger.Level.WARNING, source + ": " + problem + "; "
                + config.ioasid_iommu_name() + " not started");
    }

    private void start(Config config) {
        start(config.ioasid_iommu_name(), VtdDevice.parse(config.devices()),
                VtdParams.from(config), null, config.vcmd_vm(), config.vcmd_quota());
        if (allocator != null && context != null) {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(IoasidAllocator.NAME, allocator.toString());
            allocatorRegistration = context.registerService(IoasidAllocator.class, allocator, props);
        }
    }

    private void start(String name, List<DeviceInfo> devices, VtdParams params, VcmdHost given,
            String vm, int quota) {
        VtdDriver d = new VtdDriver(name, params, devices);
        if (d.guestAllocator()) {
            VcmdHost h = given != null ? given : VcmdHost.acquire(host, vm, quota);
            d.unit().vcmd.connect(h);
            vcmdHost = h;
            allocator = new VcmdAllocator(d, h.helpers());
            LOG.log(System.Logger.Level.INFO, name + ": registering the VCMD PASID allocator ("
                    + h + ")");
        } else if (params.cachingMode && params.vcmd && !params.scalableMode) {
            LOG.log(System.Logger.Level.WARNING, name + ": VT-d Scalable Mode not enabled, "
                    + "no PASID allocation");
        }
        driver = d;
    }

    /** An IoasidException's message without its errno: the operator's line names the key. */
    private static String message(RuntimeException e) {
        String m = e.getMessage();
        return e instanceof IoasidException ? m.substring(m.indexOf(": ") + 2) : m;
    }

    /**
     * A new device list applies at once (DS then republishes the service properties and the core
     * probes again); new hardware parameters wait for a restart. A mended configuration starts a
     * FAILED unit; a refused change leaves a running one as it was, with one line saying why.
     */
    @Modified
    void modified(Config config, Map<String, Object> properties) {
        VtdDriver d = driver;
        if (d == null) {
            startOrFail(config, properties, true);
            return;
        }
        String problem = BackendConfigurations.problem(properties);
        List<DeviceInfo> devices = null;
        if (problem == null) {
            try {
                VtdParams next = VtdParams.from(config);
                devices = VtdDevice.parse(config.devices());
                if (!next.sameHardware(d.params())) {
                    LOG.log(System.Logger.Level.WARNING, d.name() + ": hardware parameters "
                            + "changed to " + next + "; still " + d.params()
                            + " until the unit restarts");
                }
            } catch (IllegalArgumentException | IoasidException e) {
                problem = message(e);
            }
        }
        if (problem != null) {
            refused = problem;
            LOG.log(System.Logger.Level.WARNING, source + ": " + problem + "; " + d.name()
                    + " keeps its configuration");
            return;
        }
        d.rename(config.ioasid_iommu_name());
        d.setDevices(devices);
        refused = null;
    }

    /** The unit leaves: its allocator service goes, then every call is ENODEV (D17). */
    @Deactivate
    void deactivate() {
        if (allocatorRegistration != null) {
            try {
                allocatorRegistration.unregister();
            } catch (IllegalStateException e) {
                // the framework took it down with the bundle already
            }
            allocatorRegistration = null;
        }
        VtdDriver d = driver;
        if (d != null) {
            d.close();
        }
        VcmdHost h = vcmdHost;
        if (h != null) {
            h.release();
        }
    }

    private VtdDriver live() {
        VtdDriver d = driver;
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
    public void detachDev(String device) {
        live().detachDev(device);
    }

    @Override
    public void setDevPasid(String device, int pasid, BackendDomain domain) {
        live().setDevPasid(device, pasid, domain);
    }

    /** The entry is rewritten in place (D25); the RID keeps the default, attachDev. */
    @Override
    public void replaceDevPasid(String device, int pasid, BackendDomain old,
            BackendDomain domain) {
        new VtdReplace(live()).pasid(device, pasid, old, domain);
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
        return live().unit().queue.strings();
    }

    // ------------------------------------------------------------------ for tests and operators

    VtdDriver driver() {
        return driver;
    }

    /** The guest PASID allocator, or null when the unit is no VCMD-capable vIOMMU. */
    IoasidAllocator guestAllocator() {
        return allocator;
    }

    VcmdHost vcmdHost() {
        return vcmdHost;
    }

    boolean allocatorRegistered() {
        return allocatorRegistration != null;
    }

    @Override
    public String toString() {
        VtdDriver d = driver;
        return d == null ? "VT-d (" + source + ", FAILED: " + failure + ")" : "VT-d " + d;
    }
}
