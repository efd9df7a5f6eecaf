package ioasid.backend.virtio.impl;

import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.osgi.annotation.bundle.Capability;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

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

/*
 * One virtio-iommu instance, configured by one factory configuration and registered as an
 * IommuBackend: the guest driver (VirtioIommuDriver) over its device model (VirtioIommuDevice).
 * Every IommuBackend call goes to the driver.
 *
 * Rules:
 *  1. Guest PASIDs: when configured, the instance registers an IoasidAllocator for its own
 *     lifetime, whose calls go to the host's IoasidService through a HostChannel (shared by name,
 *     or private). The host is never called under the driver's lock.
 *  2. Only the endpoint list changes live (@Modified); other changes wait for a restart.
 *
 * Records: every record of this bundle declares equals, hashCode and toString itself (equals and
 * hashCode compute what the generated ones would). The generated ones are linked through
 * java.lang.runtime.ObjectMethods, whose JDK-wide method handles keep the last types they were
 * adapted to, the record's and its components' (JDK-8078641, not fixed in Java 17): the last
 * backend record compared, hashed or printed would keep this bundle's class loader reachable
 * after it is uninstalled (D17).
 */
@Component(configurationPid = VirtioIommuBackend.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE, service = IommuBackend.class,
        property = IommuBackend.VENDOR + "=" + VirtioIommuBackend.VENDOR)
@Designate(ocd = VirtioIommuBackend.Config.class, factory = true)
// the allocator service is registered by hand when configured; resolvers still see it
@Capability(namespace = "osgi.service", effective = "active", uses = IoasidAllocator.class,
        attribute = "objectClass:List<String>=ioasid.api.spi.IoasidAllocator")
public final class VirtioIommuBackend implements IommuBackend {
    public static final String PID = "ioasid.backend.virtio";
    public static final String VENDOR = "virtio";
    static final String DEFAULT_HOST_TARGET = "(service.imported=*)";

    @ObjectClassDefinition(name = "IOASID virtio-iommu backend",
            description = "One virtio-iommu instance: its guest driver and device model")
    public @interface Config {
        @AttributeDefinition(name = "Instance name",
                description = "Unique on the platform; published as ioasid.iommu.name")
        String ioasid_iommu_name() default "viommu0";

        @AttributeDefinition(name = "Endpoints",
                description = "name[;sid=N][;group=KEY][;pasid=BITS]; the sid is the virtio-iommu "
                        + "endpoint ID. Changes apply live.")
        String[] devices() default {};

        @AttributeDefinition(name = "Page size mask",
                description = "config.page_size_mask, e.g. 0x1000 or 0x40201000 (4K|2M|1G)")
        String page_size_mask() default "0x1000";

        @AttributeDefinition(name = "Input range", description = "config.input_range START-END")
        String input_range() default "0x0-0xffffffffffff";

        @AttributeDefinition(name = "Domain range", description = "config.domain_range START-END")
        String domain_range() default "0x0-0xffffffff";

        @AttributeDefinition(name = "Features",
                description = "Offered feature bits: INPUT_RANGE, DOMAIN_RANGE, MAP_UNMAP, "
                        + "BYPASS, PROBE, MMIO, BYPASS_CONFIG")
        String[] features() default {"INPUT_RANGE", "DOMAIN_RANGE", "MAP_UNMAP", "PROBE", "MMIO",
            "BYPASS_CONFIG"};

        @AttributeDefinition(name = "Boot bypass",
                description = "Initial config.bypass: unattached endpoints pass through (QEMU's "
                        + "boot-bypass defaults to true)")
        boolean boot_bypass() default false;

        @AttributeDefinition(name = "Reserved regions",
                description = "msi:START-END (passes through) or reserved:START-END (faults)")
        String[] reserved_regions() default {"msi:0xfee00000-0xfeefffff"};

        @AttributeDefinition(name = "Probe size", description = "config.probe_size in bytes")
        int probe_size() default 512;

        @AttributeDefinition(name = "QEMU attach order",
                description = "Reproduce QEMU's ATTACH that detaches before checking the bypass "
                        + "flag (rule 101 OBSERVED)")
        boolean qemu_attach_order() default false;

        @AttributeDefinition(name = "Guest PASID allocator",
                options = {@Option(label = "none", value = "none"),
                    @Option(label = "host, shared by channel", value = "host-shared"),
                    @Option(label = "host, private to this instance", value = "host-private")})
        String pasid_allocator() default "none";

        @AttributeDefinition(name = "Host channel",
                description = "Instances naming the same channel share one guest ID space")
        String pasid_channel() default "default";

        @AttributeDefinition(name = "VM set token", description = "The VM's set on the host")
        String pasid_vm_token() default "vm";

        @AttributeDefinition(name = "VM set quota",
                description = "Quota when the VM's set must be created on the host", min = "0")
        int pasid_vm_quota() default 1024;

        @AttributeDefinition(name = "Allocator ranking",
                description = "service.ranking of the allocator service")
        int pasid_allocator_ranking() default 0;

        @AttributeDefinition(name = "Host IoasidService filter",
                description = "Target of the host reference; the default takes a remote one")
        String host_target() default DEFAULT_HOST_TARGET;
    }

    private static final System.Logger LOG = System.getLogger("ioasid.backend.virtio");

    private final HostChannels channels;
    private final BundleContext context;
    private final String source;
    /** Null while the instance is FAILED (its configuration was refused), as the rest below. */
    private volatile VirtioIommuDriver driver;
    private volatile VirtioIommuParams params;
    private volatile HostChannel channel;
    private volatile HostPasidAllocator allocator;
    private volatile String failure;
    private volatile String refused;

    /** Host services bound, guarded by itself (bind and unbind do not take the driver lock). */
    private final List<IoasidService> hosts = new ArrayList<>();

    private ServiceRegistration<IoasidAllocator> allocatorRegistration;

    /**
     * DS activation. A refused configuration leaves the instance FAILED, registered with the
     * reason, instead of failing the activation.
     */
    @Activate
    public VirtioIommuBackend(Config config, BundleContext context,
            Map<String, Object> properties) {
        this.channels = HostChannels.SHARED;
        this.context = context;
        this.source = BackendConfigurations.source(properties);
        startOrFail(config, properties, false);
    }

    /**
     * Builds the instance from its configuration outside a framework; a refused configuration
     * throws.
     *
     * @throws IllegalArgumentException for a value the instance cannot take
     */
    public VirtioIommuBackend(Config config, BundleContext context) {
        this.channels = HostChannels.SHARED;
        this.context = context;
        this.source = "virtio-iommu " + config.ioasid_iommu_name();
        start(VirtioIommuParams.from(config));
    }

    /** Builds the instance without a framework: the driver over its device, then the channel. */
    VirtioIommuBackend(VirtioIommuParams p, HostChannels channels) {
        this.channels = channels;
        this.context = null;
        this.source = "virtio-iommu " + p.name;
        start(p);
    }

    private void startOrFail(Config config, Map<String, ?> properties, boolean again) {
        String problem = BackendConfigurations.problem(properties);
        if (problem == null) {
            try {
                start(VirtioIommuParams.from(config));
                failure = null;
                if (again) {
                    LOG.log(System.Logger.Level.INFO, source + ": " + params.name + " started");
                }
                return;
            } catch (IllegalArgumentException e) {
                problem = e.getMessage();
            }
        }
        failure = problem;
        LOG.log(System.Logger.Level.WARNING, source + ": " + problem + "; "
                + config.ioasid_iommu_name() + " not started");
    }

    /** The driver over its device, then the channel and the allocator service. */
    private void start(VirtioIommuParams p) {
        VirtioIommuDriver d = new VirtioIommuDriver(p);
        HostChannel ch;
        switch (p.pasidMode) {
            case HOST_SHARED:
                ch = channels.acquire(p.pasidChannel, p.vmToken, p.vmQuota);
                break;
            case HOST_PRIVATE:
                ch = new HostChannel(p.name + "-private", p.vmToken, p.vmQuota);
                break;
            default:
                ch = null;
        }
        params = p;
        channel = ch;
        allocator = ch != null ? new HostPasidAllocator(ch, p.name) : null;
        driver = d;
        if (ch != null) {
            for (IoasidService h : hostsSnapshot()) {
                ch.offerHost(this, h);
            }
        }
        if (allocator != null && context != null) {
            Dictionary<String, Object> props = new Hashtable<>();
            props.put(IoasidAllocator.NAME, "virtio-iommu " + p.name);
            props.put(Constants.SERVICE_RANKING, p.allocatorRanking);
            props.put(IommuBackend.NAME, p.name);
            allocatorRegistration = context.registerService(IoasidAllocator.class, allocator,
                    props);
        }
    }

    /**
     * A changed endpoint list applies live. A mended configuration starts a FAILED instance; a
     * refused change leaves a running one as it was, with one line saying why.
     */
    @Modified
    void modified(Config config, Map<String, Object> properties) {
        if (driver == null) {
            startOrFail(config, properties, true);
            return;
        }
        String problem = BackendConfigurations.problem(properties);
        VirtioIommuParams np = null;
        if (problem == null) {
            try {
                np = VirtioIommuParams.from(config);
            } catch (IllegalArgumentException e) {
                problem = e.getMessage();
            }
        }
        if (problem != null) {
            refused = problem;
            LOG.log(System.Logger.Level.WARNING, source + ": " + problem + "; " + params.name
                    + " keeps its configuration");
            return;
        }
        reconfigure(np);
        refused = null;
    }

    /** What @Modified does, without a framework: a changed endpoint list applies live. */
    void reconfigure(VirtioIommuParams np) {
        live().reconfigure(np);
    }

    @Deactivate
    void deactivate() {
        ServiceRegistration<IoasidAllocator> reg = allocatorRegistration;
        allocatorRegistration = null;
        if (reg != null) {
            try {
                reg.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the framework unregistered it with the bundle
            }
        }
        close();
    }

    /** Stops the instance: later calls fail with ENODEV; a shared channel loses a user. */
    void close() {
        VirtioIommuDriver d = driver;
        if (d == null || !d.close()) {
            return;
        }
        HostChannel ch = channel;
        if (ch != null) {
            for (IoasidService h : hostsSnapshot()) {
                ch.withdrawHost(this, h);
            }
            if (params.pasidMode == VirtioIommuParams.PasidMode.HOST_SHARED) {
                channels.release(ch);
            }
        }
    }

    private VirtioIommuDriver live() {
        VirtioIommuDriver d = driver;
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

    // ------------------------------------------------------------------ host reference

    @Reference(name = "host", service = IoasidService.class,
            cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, target = DEFAULT_HOST_TARGET)
    void bindHost(IoasidService host) {
        synchronized (hosts) {
            if (hosts.contains(host)) {
                return; // bind is idempotent (FELIX-6616)
            }
            hosts.add(host);
        }
        HostChannel ch = channel;
        if (ch != null) {
            ch.offerHost(this, host);
        }
    }

    void unbindHost(IoasidService host) {
        synchronized (hosts) {
            hosts.remove(host);
        }
        HostChannel ch = channel;
        if (ch != null) {
            ch.withdrawHost(this, host);
        }
    }

    private List<IoasidService> hostsSnapshot() {
        synchronized (hosts) {
            return new ArrayList<>(hosts);
        }
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

    /**
     * One ATTACH to the new domain (D25): by the spec the device leaves its old domain by itself
     * and destroys it with its mappings when it was the last endpoint (rules 100, 101), so no
     * DETACH is sent. The old domain named must be the endpoint's (EINVAL); the same domain is a
     * no-op (rule 105).
     */
    @Override
    public void replaceDev(String device, BackendDomain old, BackendDomain domain) {
        VirtioIommuDriver d = live();
        d.lock.lock();
        try {
            d.checkOpen();
            VirtioIommuDomain cur = d.attachedDomain(device);
            if (cur != old) {
                throw new IoasidException(Errno.EINVAL, device + " is on " + cur + ", not " + old);
            }
            if (old != domain) {
                d.attachDev(device, domain);
            }
        } finally {
            d.lock.unlock();
        }
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

    // ------------------------------------------------------------------ for tests and operators

    VirtioIommuDriver driver() {
        return driver;
    }

    /** The guest PASID allocator, or null when none is configured. */
    HostPasidAllocator pasidAllocator() {
        return allocator;
    }

    ServiceRegistration<IoasidAllocator> allocatorRegistration() {
        return allocatorRegistration;
    }

    @Override
    public String toString() {
        VirtioIommuDriver d = driver;
        return d == null ? "virtio-iommu (" + source + ", FAILED: " + failure + ")"
                : d.toString();
    }
}
