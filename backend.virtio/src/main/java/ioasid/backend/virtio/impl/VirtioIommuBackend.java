package ioasid.backend.virtio.impl;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.api.Errno.EOPNOTSUPP;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

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
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidService;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.BackendViommu;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;
import ioasid.api.spi.IoasidAllocator;

/*
 * One virtio-iommu: the guest driver (Linux drivers/iommu/virtio-iommu.c) over a device model
 * (VirtioIommuDevice, QEMU's). The two talk only through Request objects on the request queue
 * and the status each one completes with.
 *
 * Driver rules:
 *  1. At probe the driver reads the configuration and negotiates Linux's feature table (which
 *     lacks the legacy BYPASS bit). No MAP_UNMAP -> ENODEV; an empty page_size_mask -> EINVAL.
 *     Without INPUT_RANGE the aperture is all 64 bits, without DOMAIN_RANGE domain IDs are 32-bit.
 *  2. Each endpoint is probed as it is discovered (PROBE, when PROBE is negotiated): its reserved
 *     regions come back as RESV_MEM properties. An endpoint whose PROBE fails is not offered.
 *  3. Request status maps to errno by rule 100; a failed request throws IoasidException with it.
 *     ATTACH, DETACH, MAP and PROBE wait for completion; UNMAP is only queued, and reaches the
 *     device at the next kick: iotlbSync, flushIotlbAll, or any request that waits (v5.x
 *     driver). A full queue (256) is kicked first. Statuses of queued requests are not read
 *     back, as in the driver; the device's log still shows them.
 *  4. A domain belongs to the instance that allocated it; attaching it through another instance
 *     is EINVAL (rule 100, newer kernels). Its ID is allocated lowest-free in the domain range on
 *     its first attach (viommu_domain_finalise): none free -> ENOSPC; a granule above the
 *     kernel's 4 KiB page -> ENODEV.
 *  5. Attach sends ATTACH and, when the domain had no endpoint, replays the driver's tree as MAP
 *     requests: the device destroyed the domain with its mappings when its last endpoint left.
 *     Attaching an endpoint to the domain it is on sends ATTACH again; if it was the only one,
 *     the device re-creates the domain empty and the replay fills it, so the call cannot fail
 *     (rule 44) unless the device itself does. A failed ATTACH changes nothing on either side; a
 *     failed replay puts the endpoint back on its old domain before throwing.
 *  6. Domain types: UNMANAGED, DMA and DMA_FQ page through MAP/UNMAP. IDENTITY is a bypass domain
 *     (ATTACH_F_BYPASS) when BYPASS_CONFIG is negotiated, else a domain identity-mapping the
 *     aperture around the endpoint's reserved regions (viommu_domain_map_identity). BLOCKED is an
 *     empty, non-bypass domain: DMA faults MAPPING whatever config.bypass says, where a DETACH
 *     would let it through with bypass on. SVA and nesting parents -> EOPNOTSUPP.
 *  7. mapPages sends one MAP for the whole call. Flags outside the device's (MMIO without the
 *     MMIO feature), a range outside the aperture or touching a reserved region -> EINVAL; a
 *     range overlapping the driver's tree -> EEXIST (Linux inserts blindly and lets the device's
 *     INVAL answer; BackendDomain asks for EEXIST and an unchanged tree). A domain with no
 *     endpoint only records the mapping, for the replay.
 *  8. unmapPages removes whole mappings from its first address on, in order, stopping at a hole
 *     or at a mapping that starts before it (UNMAP cannot split a mapping), queues one UNMAP for
 *     what it removed, and returns those bytes, which may exceed the request. (Linux returns 0
 *     when fewer bytes than asked were mapped, after dropping them from its tree.)
 *  9. iovaToPhys reads the driver's tree. There is no IOTLB: iotlbSync only kicks the queue.
 * 10. No PASID support (the ATTACH_TABLE extension was never merged): maxPasids 0, setDevPasid,
 *     svaDomainAlloc and viommuAlloc -> EOPNOTSUPP; a PASID-tagged DMA faults UNKNOWN.
 * 11. Guest PASIDs: when configured, the instance registers an IoasidAllocator whose calls go to
 *     the host's IoasidService through a HostChannel (shared by name, or private).
 * 12. One lock per instance guards the driver; the device has its own and is only called under
 *     the driver's (lock order driver -> device). translate takes the driver lock only to look
 *     the endpoint up. The host IoasidService is never called under either.
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

    /** The guest kernel's PAGE_SIZE; a larger IOMMU granule cannot back the DMA API. */
    static final long PAGE_SIZE = 4096;
    /** VIOMMU_DEFAULT_QUEUE_SIZE: requests the queue holds before the driver must kick. */
    static final int QUEUE_SIZE = 256;
    /** The model's physical address width; virtio-iommu does not report one. */
    static final int OAS_BITS = 48;

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

    /** The driver's view of one endpoint ({@code struct viommu_endpoint}). */
    private static final class Endpoint {
        final DeviceInfo info;
        /** Reserved regions from PROBE, sorted by start. */
        final List<ResvRegion> resv;
        VirtioIommuDomain vdomain;

        Endpoint(DeviceInfo info, List<ResvRegion> resv) {
            this.info = info;
            this.resv = List.copyOf(resv);
        }

        long sid() {
            return info.streamId();
        }
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final VirtioIommuDevice device;
    private final HostChannels channels;
    private final long negotiated;
    private final long pgsizeBitmap;
    private final long apertureStart;
    private final long apertureEnd;
    private final long firstDomain;
    private final long lastDomain;
    private final int mapFlags;
    private final int probeSize;
    private final IommuCaps caps;
    private final HostChannel channel;
    private final HostPasidAllocator allocator;
    private final Map<Long, VirtioIommuDomain> domainsById = new ConcurrentHashMap<>();

    // guarded by lock (params is only replaced under it; its name never changes)
    private volatile VirtioIommuParams params;
    private final Map<String, Endpoint> endpoints = new LinkedHashMap<>();
    private final TreeSet<Long> domainIds = new TreeSet<>();
    private final Deque<Request> queued = new ArrayDeque<>();
    private long kicks;
    private long unreadFailures;
    private boolean closed;

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

    /** Builds the instance without a framework: the device, then the driver's probe. */
    VirtioIommuBackend(VirtioIommuParams p, HostChannels channels) {
        this.params = p;
        this.channels = channels;
        this.device = new VirtioIommuDevice(p);
        // the hardware: every configured endpoint sits on the bus behind the device
        for (DeviceInfo d : p.devices) {
            device.plug(d.streamId());
        }
        // viommu_probe
        if (!Feature.MAP_UNMAP.in(device.offeredFeatures())) {
            throw new IoasidException(ENODEV, p.name + ": the device does not offer MAP_UNMAP");
        }
        this.negotiated = device.negotiate(Feature.LINUX_DRIVER);
        this.pgsizeBitmap = device.pageSizeMask();
        if (pgsizeBitmap == 0) {
            throw new IoasidException(EINVAL, p.name + ": page_size_mask is empty");
        }
        boolean inputRange = Feature.INPUT_RANGE.in(negotiated);
        this.apertureStart = inputRange ? device.inputStart() : 0;
        this.apertureEnd = inputRange ? device.inputEnd() : -1L;
        boolean domainRange = Feature.DOMAIN_RANGE.in(negotiated);
        this.firstDomain = domainRange ? device.domainStart() : 0;
        this.lastDomain = domainRange ? device.domainEnd() : 0xffff_ffffL;
        this.mapFlags = Request.MAP_F_READ | Request.MAP_F_WRITE
                | (Feature.MMIO.in(negotiated) ? Request.MAP_F_MMIO : 0);
        this.probeSize = Feature.PROBE.in(negotiated) ? device.probeSize() : 0;
        this.caps = IommuCaps.builder(VENDOR).maxPasids(0).pgsizeBitmap(pgsizeBitmap)
                .addressBits(Math.max(12, 64 - Long.numberOfLeadingZeros(apertureEnd)), OAS_BITS)
                .domainTypes(java.util.EnumSet.of(DomainType.BLOCKED, DomainType.IDENTITY,
                        DomainType.UNMANAGED, DomainType.DMA, DomainType.DMA_FQ))
                .defaultDomains(true).nesting(false).build();
        lock.lock();
        try {
            for (DeviceInfo d : p.devices) {
                probeEndpoint(d);
            }
        } finally {
            lock.unlock();
        }
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

    /** Applies a changed endpoint list live; other changes wait for a restart. */
    void reconfigure(VirtioIommuParams np) {
        lock.lock();
        try {
            checkOpen();
            if (!np.sameHardware(params)) {
                LOG.log(System.Logger.Level.WARNING, "virtio-iommu " + params.name
                        + ": only the endpoint list changes live; " + np
                        + " takes effect when the component restarts, still " + params);
            }
            Map<String, DeviceInfo> wanted = new LinkedHashMap<>();
            for (DeviceInfo d : np.devices) {
                wanted.put(d.name(), d);
            }
            for (Endpoint ep : new ArrayList<>(endpoints.values())) {
                if (!ep.info.equals(wanted.get(ep.info.name()))) {
                    releaseEndpoint(ep);
                }
            }
            for (DeviceInfo d : np.devices) {
                if (!endpoints.containsKey(d.name())) {
                    device.plug(d.streamId());
                    probeEndpoint(d);
                }
            }
            params = params.devices(np.deviceSpecs.toArray(new String[0]));
        } finally {
            lock.unlock();
        }
    }

    /** viommu_release_device: detach, then the endpoint leaves the bus. */
    private void releaseEndpoint(Endpoint ep) {
        VirtioIommuDomain vd = ep.vdomain;
        if (vd != null) {
            RequestRecord r = sendSync(new Request.Detach(vd.id, ep.sid()));
            if (!r.ok()) {
                LOG.log(System.Logger.Level.WARNING, "virtio-iommu " + params.name
                        + ": releasing " + ep.info.name() + ": " + r);
            }
            vd.nrEndpoints--;
            ep.vdomain = null;
        }
        endpoints.remove(ep.info.name());
        device.unplug(ep.sid());
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
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            syncReq();
        } finally {
            lock.unlock();
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

    // ------------------------------------------------------------------ request queue

    /** Queues a request without kicking; a full queue is kicked first (__viommu_add_req). */
    private void addReq(Request r) {
        if (queued.size() >= QUEUE_SIZE) {
            syncReq();
        }
        queued.addLast(r);
    }

    /** Kicks the queue and waits until the device completed everything queued. */
    private void syncReq() {
        if (queued.isEmpty()) {
            return;
        }
        kicks++;
        while (!queued.isEmpty()) {
            RequestRecord r = device.process(queued.removeFirst());
            if (!r.ok()) {
                unreadFailures++; // the driver does not read back queued requests' status
            }
        }
    }

    /** Queues a request, kicks and returns its completion (viommu_send_req_sync). */
    private RequestRecord sendSync(Request r) {
        addReq(r);
        kicks++;
        RequestRecord last = null;
        while (!queued.isEmpty()) {
            Request next = queued.removeFirst();
            RequestRecord done = device.process(next);
            if (next == r) {
                last = done;
            } else if (!done.ok()) {
                unreadFailures++;
            }
        }
        return last;
    }

    private static IoasidException failure(RequestRecord r, String what) {
        Errno e = Status.errno(r.status());
        return new IoasidException(e != null ? e : Errno.EIO, what + ": " + r);
    }

    // ------------------------------------------------------------------ endpoints

    /** viommu_probe_endpoint: learns the endpoint's reserved regions; a failure drops it. */
    private void probeEndpoint(DeviceInfo d) {
        List<ResvRegion> resv = new ArrayList<>();
        if (probeSize > 0) {
            RequestRecord r = sendSync(new Request.Probe(d.streamId()));
            if (!r.ok()) {
                LOG.log(System.Logger.Level.WARNING, "virtio-iommu " + params.name + ": probe of "
                        + d.name() + " failed, not managed: " + r);
                return;
            }
            resv.addAll(r.properties());
            resv.sort(Comparator.comparing(ResvRegion::start, Long::compareUnsigned));
        }
        endpoints.put(d.name(), new Endpoint(d, resv));
    }

    private Endpoint endpoint(String name) {
        Endpoint ep = endpoints.get(name);
        if (ep == null) {
            throw new IoasidException(ENODEV, name + " is not behind virtio-iommu "
                    + params.name);
        }
        return ep;
    }

    private void checkOpen() {
        if (closed) {
            throw new IoasidException(ENODEV, "virtio-iommu " + params.name + " is gone");
        }
    }

    // ------------------------------------------------------------------ IommuBackend

    @Override
    public IommuCaps caps() {
        return caps;
    }

    @Override
    public List<DeviceInfo> devices() {
        lock.lock();
        try {
            List<DeviceInfo> out = new ArrayList<>();
            for (Endpoint ep : endpoints.values()) {
                out.add(ep.info);
            }
            return List.copyOf(out);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public BackendDomain domainAlloc(DomainType type, boolean nestingParent) {
        lock.lock();
        try {
            checkOpen();
            if (nestingParent) {
                throw new IoasidException(EOPNOTSUPP, "virtio-iommu has no nesting");
            }
            if (type == null || type == DomainType.SVA) {
                throw new IoasidException(EOPNOTSUPP, "virtio-iommu cannot allocate " + type);
            }
            return new VirtioIommuDomain(this, type, type == DomainType.IDENTITY
                    && Feature.BYPASS_CONFIG.in(negotiated));
        } finally {
            lock.unlock();
        }
    }

    @Override
    public BackendDomain svaDomainAlloc(ProcessAddressSpace mm) {
        throw new IoasidException(EOPNOTSUPP, "virtio-iommu has no PASID support");
    }

    @Override
    public void attachDev(String device, BackendDomain domain) {
        lock.lock();
        try {
            checkOpen();
            Endpoint ep = endpoint(device);
            VirtioIommuDomain vd = own(domain);
            boolean finalisedNow = vd.id < 0;
            if (finalisedNow) {
                finalise(vd, ep);
            }
            VirtioIommuDomain old = ep.vdomain;
            boolean first = vd.nrEndpoints - (old == vd ? 1 : 0) == 0;
            RequestRecord r = sendSync(new Request.Attach(vd.id, ep.sid(),
                    vd.bypass ? Request.ATTACH_F_BYPASS : 0));
            if (!r.ok()) {
                if (finalisedNow) {
                    unfinalise(vd);
                }
                throw failure(r, "attaching " + device);
            }
            if (first) {
                RequestRecord bad = replay(vd);
                if (bad != null) {
                    IoasidException e = failure(bad, "replaying the mappings of domain " + vd.id
                            + " for " + device);
                    restore(ep, old, vd);
                    if (finalisedNow) {
                        unfinalise(vd);
                    }
                    throw e;
                }
            }
            if (old != vd) {
                if (old != null) {
                    old.nrEndpoints--;
                }
                vd.nrEndpoints++;
            }
            ep.vdomain = vd;
        } finally {
            lock.unlock();
        }
    }

    private VirtioIommuDomain own(BackendDomain domain) {
        if (!(domain instanceof VirtioIommuDomain vd)) {
            throw new IoasidException(EINVAL, domain + " is not a virtio-iommu domain");
        }
        if (vd.viommu != this) {
            throw new IoasidException(EINVAL, "cannot attach to foreign vIOMMU: " + vd
                    + " belongs to " + vd.viommu.name());
        }
        if (vd.freed) {
            throw new IoasidException(EINVAL, vd + " was freed");
        }
        return vd;
    }

    /** viommu_domain_finalise: a domain ID and, for a mapped identity domain, its mappings. */
    private void finalise(VirtioIommuDomain vd, Endpoint ep) {
        long granule = Long.lowestOneBit(pgsizeBitmap);
        if (Long.compareUnsigned(granule, PAGE_SIZE) > 0) {
            throw new IoasidException(ENODEV, "granule " + Request.hex(granule)
                    + " larger than system page size " + Request.hex(PAGE_SIZE));
        }
        long id = firstDomain;
        for (long used : domainIds.tailSet(firstDomain)) {
            if (used != id) {
                break;
            }
            id++;
        }
        if (id > lastDomain) {
            throw new IoasidException(ENOSPC, "no domain ID left in [" + firstDomain + ", "
                    + lastDomain + "]");
        }
        vd.id = id;
        domainIds.add(id);
        domainsById.put(id, vd);
        if (vd.type == DomainType.IDENTITY && !vd.bypass) {
            mapIdentity(vd, ep, granule);
        }
    }

    /** Undoes a finalise whose attach failed, so the failed call leaves the domain as it was. */
    private void unfinalise(VirtioIommuDomain vd) {
        domainIds.remove(vd.id);
        domainsById.remove(vd.id, vd);
        vd.id = -1;
        if (vd.type == DomainType.IDENTITY && !vd.bypass) {
            vd.mappings.clear();
        }
    }

    /** viommu_domain_map_identity: identity-maps the aperture, skipping reserved regions. */
    private void mapIdentity(VirtioIommuDomain vd, Endpoint ep, long granule) {
        int flags = Request.MAP_F_READ | Request.MAP_F_WRITE;
        long iova = alignUp(apertureStart, granule);
        long limit = (apertureEnd + 1 & -granule) - 1;
        for (ResvRegion r : ep.resv) {
            long resvStart = r.start() & -granule;
            long resvEnd = alignUp(r.end() + 1, granule) - 1;
            if (Long.compareUnsigned(resvEnd, iova) < 0
                    || Long.compareUnsigned(resvStart, limit) > 0) {
                continue;
            }
            if (Long.compareUnsigned(resvStart, iova) > 0) {
                vd.mappings.put(iova, resvStart - 1, new VirtioIommuDomain.Mapping(iova, flags));
            }
            if (Long.compareUnsigned(resvEnd, limit) >= 0) {
                return;
            }
            iova = resvEnd + 1;
        }
        vd.mappings.put(iova, limit, new VirtioIommuDomain.Mapping(iova, flags));
    }

    private static long alignUp(long v, long granule) {
        return v + granule - 1 & -granule;
    }

    /** Re-sends the driver's tree; returns the first failed MAP, or null. */
    private RequestRecord replay(VirtioIommuDomain vd) {
        for (IntervalMap.Interval<VirtioIommuDomain.Mapping> m : vd.mappings.all()) {
            RequestRecord r = sendSync(new Request.Map(vd.id, m.start(), m.end(),
                    m.value().paddr(), m.value().flags()));
            if (!r.ok()) {
                return r;
            }
        }
        return null;
    }

    /** After a failed replay: the endpoint goes back to its old domain, or off any. */
    private void restore(Endpoint ep, VirtioIommuDomain old, VirtioIommuDomain failed) {
        if (old != null && old != failed) {
            RequestRecord r = sendSync(new Request.Attach(old.id, ep.sid(),
                    old.bypass ? Request.ATTACH_F_BYPASS : 0));
            if (r.ok() && old.nrEndpoints == 1) {
                r = replay(old); // the endpoint was its only one: the device lost its mappings
            }
            if (r != null && !r.ok()) {
                LOG.log(System.Logger.Level.ERROR, "virtio-iommu " + params.name
                        + ": cannot put " + ep.info.name() + " back on domain " + old.id + ": " + r);
            }
            return;
        }
        RequestRecord r = sendSync(new Request.Detach(failed.id, ep.sid()));
        if (!r.ok()) {
            LOG.log(System.Logger.Level.ERROR, "virtio-iommu " + params.name + ": cannot detach "
                    + ep.info.name() + " from half-built domain " + failed.id + ": " + r);
        }
        if (old == failed) {
            old.nrEndpoints--;
            ep.vdomain = null;
        }
    }

    @Override
    public void detachDev(String device) {
        lock.lock();
        try {
            checkOpen();
            Endpoint ep = endpoint(device);
            VirtioIommuDomain vd = ep.vdomain;
            if (vd == null) {
                return;
            }
            RequestRecord r = sendSync(new Request.Detach(vd.id, ep.sid()));
            if (!r.ok()) {
                throw failure(r, "detaching " + device);
            }
            vd.nrEndpoints--;
            ep.vdomain = null;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void setDevPasid(String device, int pasid, BackendDomain domain) {
        throw new IoasidException(EOPNOTSUPP, "virtio-iommu has no PASID support");
    }

    @Override
    public void removeDevPasid(String device, int pasid, BackendDomain domain) {
        throw new IoasidException(EOPNOTSUPP, "virtio-iommu has no PASID support");
    }

    @Override
    public Walk translate(String device, int pasid, long iova, Access access) {
        if (pasid < 0) {
            throw new IoasidException(EINVAL, "PASID " + pasid);
        }
        long sid;
        lock.lock();
        try {
            checkOpen();
            sid = endpoint(device).sid();
        } finally {
            lock.unlock();
        }
        if (pasid != Ioasid.NO_PASID) {
            return Walk.fault("UNKNOWN", null); // nothing routes a PASID-tagged transaction
        }
        VirtioIommuDevice.DeviceWalk w = this.device.translate(sid, iova, access == Access.WRITE);
        VirtioIommuDomain d = w.domain() >= 0 ? domainsById.get(w.domain()) : null;
        switch (w.outcome()) {
            case TRANSLATED:
                return d != null ? Walk.translated(w.phys(), d) : Walk.fault("DOMAIN", null);
            case BYPASS:
                return Walk.bypass(d);
            default:
                return Walk.fault(w.reason(), d);
        }
    }

    @Override
    public BackendViommu viommuAlloc(BackendDomain nestingParent) {
        throw new IoasidException(EOPNOTSUPP, "virtio-iommu has no vIOMMU support");
    }

    @Override
    public List<String> commandLog() {
        return device.commandLog();
    }

    // ------------------------------------------------------------------ domain operations

    long pgsizeBitmap() {
        return pgsizeBitmap;
    }

    long apertureEnd() {
        return apertureEnd;
    }

    String name() {
        return params.name;
    }

    long domainIdOf(VirtioIommuDomain vd) {
        lock.lock();
        try {
            return vd.id;
        } finally {
            lock.unlock();
        }
    }

    private void checkLive(VirtioIommuDomain vd) {
        checkOpen();
        if (vd.freed) {
            throw new IoasidException(EINVAL, vd + " was freed");
        }
    }

    void mapPages(VirtioIommuDomain vd, long iova, long paddr, long pgsize, long count, int prot) {
        lock.lock();
        try {
            checkLive(vd);
            if (!vd.type.isPaging()) {
                throw new IoasidException(EINVAL, "cannot map into a " + vd.type + " domain");
            }
            long size = size(pgsize, count);
            if (size == 0 || (iova & pgsize - 1) != 0 || (paddr & pgsize - 1) != 0) {
                throw new IoasidException(EINVAL, "map of " + count + " x " + Request.hex(pgsize)
                        + " at " + Request.hex(iova) + " -> " + Request.hex(paddr)
                        + " is not aligned to a supported page size");
            }
            long end = iova + size - 1;
            if (Long.compareUnsigned(end, iova) < 0
                    || Long.compareUnsigned(iova, apertureStart) < 0
                    || Long.compareUnsigned(end, apertureEnd) > 0) {
                throw new IoasidException(EINVAL, "[" + Request.hex(iova) + ","
                        + Request.hex(end) + "] is outside the aperture");
            }
            int flags = ((prot & Prot.READ) != 0 ? Request.MAP_F_READ : 0)
                    | ((prot & Prot.WRITE) != 0 ? Request.MAP_F_WRITE : 0)
                    | ((prot & Prot.MMIO) != 0 ? Request.MAP_F_MMIO : 0);
            if ((flags & ~mapFlags) != 0) {
                throw new IoasidException(EINVAL, "MAP flags " + Request.flagString(flags)
                        + " not supported by the device");
            }
            for (Endpoint ep : endpoints.values()) {
                for (ResvRegion r : ep.resv) {
                    if (r.overlaps(iova, end)) {
                        throw new IoasidException(EINVAL, "[" + Request.hex(iova) + ","
                                + Request.hex(end) + "] touches reserved region " + r);
                    }
                }
            }
            if (vd.mappings.overlaps(iova, end)) {
                throw new IoasidException(Errno.EEXIST, "[" + Request.hex(iova) + ","
                        + Request.hex(end) + "] is mapped already in " + vd);
            }
            vd.mappings.put(iova, end, new VirtioIommuDomain.Mapping(paddr, flags));
            if (vd.nrEndpoints > 0) {
                RequestRecord r = sendSync(new Request.Map(vd.id, iova, end, paddr, flags));
                if (!r.ok()) {
                    vd.mappings.remove(iova);
                    throw failure(r, "mapping");
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** pgsize * count for a supported page size, or 0 when the arguments are not valid. */
    private long size(long pgsize, long count) {
        if (Long.bitCount(pgsize) != 1 || (pgsize & pgsizeBitmap) == 0 || count <= 0) {
            return 0;
        }
        try {
            return Math.multiplyExact(pgsize, count);
        } catch (ArithmeticException e) {
            return 0;
        }
    }

    long unmapPages(VirtioIommuDomain vd, long iova, long pgsize, long count, IotlbGather gather) {
        lock.lock();
        try {
            checkLive(vd);
            long size = size(pgsize, count);
            if (!vd.type.isPaging() || size == 0 || (iova & pgsize - 1) != 0) {
                return 0; // rule 58: nothing for a misaligned request or a non-paging domain
            }
            long end = iova + size - 1;
            long cursor = iova;
            long unmapped = 0;
            for (IntervalMap.Interval<VirtioIommuDomain.Mapping> m : vd.mappings.overlapping(iova,
                    end)) {
                if (m.start() != cursor) {
                    break; // a hole, or a mapping from before iova that UNMAP cannot split
                }
                vd.mappings.remove(m.start());
                unmapped += m.size();
                cursor = m.end() + 1;
            }
            if (unmapped == 0) {
                return 0;
            }
            if (vd.nrEndpoints > 0) {
                addReq(new Request.Unmap(vd.id, iova, iova + unmapped - 1));
            }
            if (gather != null) {
                gather.add(iova, unmapped, pgsize);
            }
            return unmapped;
        } finally {
            lock.unlock();
        }
    }

    long iovaToPhys(VirtioIommuDomain vd, long iova) {
        lock.lock();
        try {
            if (vd.type == DomainType.IDENTITY && vd.bypass) {
                return iova;
            }
            IntervalMap.Interval<VirtioIommuDomain.Mapping> m = vd.mappings.find(iova);
            return m == null ? 0 : m.value().paddr() + (iova - m.start());
        } finally {
            lock.unlock();
        }
    }

    void syncDomain(VirtioIommuDomain vd, IotlbGather gather) {
        lock.lock();
        try {
            checkLive(vd);
            syncReq();
            if (gather != null) {
                gather.reset();
            }
        } finally {
            lock.unlock();
        }
    }

    void freeDomain(VirtioIommuDomain vd) {
        lock.lock();
        try {
            if (vd.freed) {
                return;
            }
            if (vd.nrEndpoints > 0) {
                throw new IoasidException(EBUSY, vd + " still has " + vd.nrEndpoints
                        + " endpoint(s) attached");
            }
            syncReq(); // queued requests name this ID: they must not reach its next owner
            vd.mappings.clear();
            if (vd.id >= 0) {
                domainIds.remove(vd.id);
                domainsById.remove(vd.id, vd);
            }
            vd.freed = true;
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ inspection

    VirtioIommuDevice device() {
        return device;
    }

    long negotiatedFeatures() {
        return negotiated;
    }

    /** Requests queued and not yet kicked. */
    List<Request> queued() {
        lock.lock();
        try {
            return new ArrayList<>(queued);
        } finally {
            lock.unlock();
        }
    }

    long kicks() {
        lock.lock();
        try {
            return kicks;
        } finally {
            lock.unlock();
        }
    }

    long unreadFailures() {
        lock.lock();
        try {
            return unreadFailures;
        } finally {
            lock.unlock();
        }
    }

    /** The reserved regions the driver learned for an endpoint. */
    List<ResvRegion> reservedRegions(String device) {
        lock.lock();
        try {
            return endpoint(device).resv;
        } finally {
            lock.unlock();
        }
    }

    /** The domain the driver believes the endpoint is on, or null. */
    VirtioIommuDomain attachedDomain(String device) {
        lock.lock();
        try {
            return endpoint(device).vdomain;
        } finally {
            lock.unlock();
        }
    }

    int endpointCount(VirtioIommuDomain vd) {
        lock.lock();
        try {
            return vd.nrEndpoints;
        } finally {
            lock.unlock();
        }
    }

    /** The driver's tree of a domain, in ascending order. */
    List<IntervalMap.Interval<VirtioIommuDomain.Mapping>> driverMappings(VirtioIommuDomain vd) {
        lock.lock();
        try {
            return vd.mappings.all();
        } finally {
            lock.unlock();
        }
    }

    /** The guest PASID allocator, or null when none is configured. */
    HostPasidAllocator pasidAllocator() {
        return allocator;
    }

    VirtioIommuParams params() {
        lock.lock();
        try {
            return params;
        } finally {
            lock.unlock();
        }
    }

    ServiceRegistration<IoasidAllocator> allocatorRegistration() {
        return allocatorRegistration;
    }

    @Override
    public String toString() {
        return "virtio-iommu " + params.name + " " + caps;
    }
}
