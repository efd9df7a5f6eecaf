package ioasid.backend.virtio.impl;

import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;

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

import ioasid.api.IoasidService;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
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

    private final VirtioIommuDriver driver;
    private final VirtioIommuParams params;
    private final HostChannels channels;
    private final HostChannel channel;
    private final HostPasidAllocator allocator;

    /** Host services bound, guarded by itself (bind and unbind do not take the driver lock). */
    private final List<IoasidService> hosts = new ArrayList<>();

    private ServiceRegistration<IoasidAllocator> allocatorRegistration;

    @Activate
    public VirtioIommuBackend(Config config, BundleContext context) {
        this(VirtioIommuParams.from(config), HostChannels.SHARED);
        if (allocator != null) {
            Dictionary<String, Object> props = new Hashtable<>();
            props.put(IoasidAllocator.NAME, "virtio-iommu " + params.name);
            props.put(Constants.SERVICE_RANKING, params.allocatorRanking);
            props.put(IommuBackend.NAME, params.name);
            allocatorRegistration = context.registerService(IoasidAllocator.class, allocator,
                    props);
        }
    }

    /** Builds the instance without a framework: the driver over its device, then the channel. */
    VirtioIommuBackend(VirtioIommuParams p, HostChannels channels) {
        this.params = p;
        this.channels = channels;
        this.driver = new VirtioIommuDriver(p);
        switch (p.pasidMode) {
            case HOST_SHARED:
                channel = channels.acquire(p.pasidChannel, p.vmToken, p.vmQuota);
                break;
            case HOST_PRIVATE:
                channel = new HostChannel(p.name + "-private", p.vmToken, p.vmQuota);
                break;
            default:
                channel = null;
        }
        allocator = channel != null ? new HostPasidAllocator(channel, p.name) : null;
    }

    @Modified
    void modified(Config config) {
        reconfigure(VirtioIommuParams.from(config));
    }

    /** What @Modified does, without a framework: a changed endpoint list applies live. */
    void reconfigure(VirtioIommuParams np) {
        driver.reconfigure(np);
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
        if (!driver.close()) {
            return;
        }
        if (channel != null) {
            for (IoasidService h : hostsSnapshot()) {
                channel.withdrawHost(this, h);
            }
            if (params.pasidMode == VirtioIommuParams.PasidMode.HOST_SHARED) {
                channels.release(channel);
            }
        }
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
        if (channel != null) {
            channel.offerHost(this, host);
        }
    }

    void unbindHost(IoasidService host) {
        synchronized (hosts) {
            hosts.remove(host);
        }
        if (channel != null) {
            channel.withdrawHost(this, host);
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
        return driver.caps();
    }

    @Override
    public List<DeviceInfo> devices() {
        return driver.devices();
    }

    @Override
    public BackendDomain domainAlloc(DomainType type, boolean nestingParent) {
        return driver.domainAlloc(type, nestingParent);
    }

    @Override
    public BackendDomain svaDomainAlloc(ProcessAddressSpace mm) {
        return driver.svaDomainAlloc(mm);
    }

    @Override
    public void attachDev(String device, BackendDomain domain) {
        driver.attachDev(device, domain);
    }

    @Override
    public void detachDev(String device) {
        driver.detachDev(device);
    }

    @Override
    public void setDevPasid(String device, int pasid, BackendDomain domain) {
        driver.setDevPasid(device, pasid, domain);
    }

    @Override
    public void removeDevPasid(String device, int pasid, BackendDomain domain) {
        driver.removeDevPasid(device, pasid, domain);
    }

    @Override
    public Walk translate(String device, int pasid, long iova, Access access) {
        return driver.translate(device, pasid, iova, access);
    }

    @Override
    public BackendViommu viommuAlloc(BackendDomain nestingParent) {
        return driver.viommuAlloc(nestingParent);
    }

    @Override
    public List<String> commandLog() {
        return driver.commandLog();
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
        return driver.toString();
    }
}
