package ioasid.backend.virtio.impl;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.api.Errno.EOPNOTSUPP;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.BackendViommu;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.Walk;

/*
 * The guest's virtio-iommu driver (Linux drivers/iommu/virtio-iommu.c) for one instance, over the
 * device model (VirtioIommuDevice, QEMU's). The two talk only through Request objects on the
 * request queue (RequestQueue) and the status each one completes with. The domain operations
 * (map, unmap, iova_to_phys) are VirtioIommuDomain's.
 *
 * Rules:
 *  1. At probe the driver reads the configuration and negotiates Linux's feature table (which
 *     lacks the legacy BYPASS bit). No MAP_UNMAP -> ENODEV; an empty page_size_mask -> EINVAL.
 *     Without INPUT_RANGE the aperture is all 64 bits, without DOMAIN_RANGE domain IDs are 32-bit.
 *  2. Each endpoint is probed as it is discovered (PROBE, when PROBE is negotiated): its reserved
 *     regions come back as RESV_MEM properties. An endpoint whose PROBE fails is not offered.
 *  3. Request status maps to errno by rule 100; a failed request throws IoasidException with it.
 *     ATTACH, DETACH, MAP and PROBE wait for completion; UNMAP is only queued, and reaches the
 *     device at the next kick: iotlbSync, flushIotlbAll, or any request that waits (v5.x
 *     driver; RequestQueue's rules).
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
 *  7. No PASID support (the ATTACH_TABLE extension was never merged): maxPasids 0, setDevPasid,
 *     svaDomainAlloc and viommuAlloc -> EOPNOTSUPP; a PASID-tagged DMA faults UNKNOWN.
 *  8. One lock per instance guards the driver, its request queue and its domains; the device
 *     has its own and is only called under the driver's (lock order driver -> device).
 *     translate takes the driver lock only to look the endpoint up.
 */
final class VirtioIommuDriver {
    /** The guest kernel's PAGE_SIZE; a larger IOMMU granule cannot back the DMA API. */
    static final long PAGE_SIZE = 4096;
    /** The model's physical address width; virtio-iommu does not report one. */
    static final int OAS_BITS = 48;

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

    /** Guards everything below that is not final, and the state of this driver's domains. */
    final ReentrantLock lock = new ReentrantLock();
    final RequestQueue queue;
    private final VirtioIommuDevice device;
    private final long negotiated;
    private final long pgsizeBitmap;
    private final long apertureStart;
    private final long apertureEnd;
    private final long firstDomain;
    private final long lastDomain;
    private final int mapFlags;
    private final int probeSize;
    private final IommuCaps caps;
    private final Map<Long, VirtioIommuDomain> domainsById = new ConcurrentHashMap<>();

    // guarded by lock (params is only replaced under it; its name never changes)
    private volatile VirtioIommuParams params;
    private final Map<String, Endpoint> endpoints = new LinkedHashMap<>();
    private final TreeSet<Long> domainIds = new TreeSet<>();
    private boolean closed;

    /** The device, then the driver's probe (viommu_probe) and each endpoint's. */
    VirtioIommuDriver(VirtioIommuParams p) {
        this.params = p;
        this.device = new VirtioIommuDevice(p);
        this.queue = new RequestQueue(device);
        // the hardware: every configured endpoint sits on the bus behind the device
        for (DeviceInfo d : p.devices) {
            device.plug(d.streamId());
        }
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
        this.caps = IommuCaps.builder(VirtioIommuBackend.VENDOR).maxPasids(0)
                .pgsizeBitmap(pgsizeBitmap)
                .addressBits(Math.max(12, 64 - Long.numberOfLeadingZeros(apertureEnd)), OAS_BITS)
                .domainTypes(EnumSet.of(DomainType.BLOCKED, DomainType.IDENTITY,
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
            RequestRecord r = queue.sendSync(new Request.Detach(vd.id, ep.sid()));
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

    /**
     * Stops the driver: later calls fail with ENODEV; what is queued reaches the device.
     *
     * @return false when it was stopped already
     */
    boolean close() {
        lock.lock();
        try {
            if (closed) {
                return false;
            }
            closed = true;
            queue.sync();
            return true;
        } finally {
            lock.unlock();
        }
    }

    static IoasidException failure(RequestRecord r, String what) {
        Errno e = Status.errno(r.status());
        return new IoasidException(e != null ? e : Errno.EIO, what + ": " + r);
    }

    // ------------------------------------------------------------------ endpoints

    /** viommu_probe_endpoint: learns the endpoint's reserved regions; a failure drops it. */
    private void probeEndpoint(DeviceInfo d) {
        List<ResvRegion> resv = new ArrayList<>();
        if (probeSize > 0) {
            RequestRecord r = queue.sendSync(new Request.Probe(d.streamId()));
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

    /** The first reserved region of any endpoint meeting {@code [first, last]}, or null. */
    ResvRegion reservedRegionIn(long first, long last) {
        for (Endpoint ep : endpoints.values()) {
            for (ResvRegion r : ep.resv) {
                if (r.overlaps(first, last)) {
                    return r;
                }
            }
        }
        return null;
    }

    void checkOpen() {
        if (closed) {
            throw new IoasidException(ENODEV, "virtio-iommu " + params.name + " is gone");
        }
    }

    // ------------------------------------------------------------------ IommuBackend

    IommuCaps caps() {
        return caps;
    }

    List<DeviceInfo> devices() {
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

    VirtioIommuDomain domainAlloc(DomainType type, boolean nestingParent) {
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

    void attachDev(String device, BackendDomain domain) {
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
            RequestRecord r = queue.sendSync(new Request.Attach(vd.id, ep.sid(),
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
        if (vd.driver != this) {
            throw new IoasidException(EINVAL, "cannot attach to foreign vIOMMU: " + vd
                    + " belongs to " + vd.driver.name());
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
            vd.mapIdentity(ep.resv, granule);
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

    /** Re-sends the driver's tree; returns the first failed MAP, or null. */
    private RequestRecord replay(VirtioIommuDomain vd) {
        for (IntervalMap.Interval<VirtioIommuDomain.Mapping> m : vd.mappings.all()) {
            RequestRecord r = queue.sendSync(new Request.Map(vd.id, m.start(), m.end(),
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
            RequestRecord r = queue.sendSync(new Request.Attach(old.id, ep.sid(),
                    old.bypass ? Request.ATTACH_F_BYPASS : 0));
            if (r.ok() && old.nrEndpoints == 1) {
                r = replay(old); // the endpoint was its only one: the device lost its mappings
            }
            if (r != null && !r.ok()) {
                LOG.log(System.Logger.Level.ERROR, "virtio-iommu " + params.name
                        + ": cannot put " + ep.info.name() + " back on domain " + old.id + ": "
                        + r);
            }
            return;
        }
        RequestRecord r = queue.sendSync(new Request.Detach(failed.id, ep.sid()));
        if (!r.ok()) {
            LOG.log(System.Logger.Level.ERROR, "virtio-iommu " + params.name + ": cannot detach "
                    + ep.info.name() + " from half-built domain " + failed.id + ": " + r);
        }
        if (old == failed) {
            old.nrEndpoints--;
            ep.vdomain = null;
        }
    }

    void detachDev(String device) {
        lock.lock();
        try {
            checkOpen();
            Endpoint ep = endpoint(device);
            VirtioIommuDomain vd = ep.vdomain;
            if (vd == null) {
                return;
            }
            RequestRecord r = queue.sendSync(new Request.Detach(vd.id, ep.sid()));
            if (!r.ok()) {
                throw failure(r, "detaching " + device);
            }
            vd.nrEndpoints--;
            ep.vdomain = null;
        } finally {
            lock.unlock();
        }
    }

    void setDevPasid(String device, int pasid, BackendDomain domain) {
        throw new IoasidException(EOPNOTSUPP, "virtio-iommu has no PASID support");
    }

    void removeDevPasid(String device, int pasid, BackendDomain domain) {
        throw new IoasidException(EOPNOTSUPP, "virtio-iommu has no PASID support");
    }

    BackendDomain svaDomainAlloc(ProcessAddressSpace mm) {
        throw new IoasidException(EOPNOTSUPP, "virtio-iommu has no PASID support");
    }

    BackendViommu viommuAlloc(BackendDomain nestingParent) {
        throw new IoasidException(EOPNOTSUPP, "virtio-iommu has no vIOMMU support");
    }

    Walk translate(String device, int pasid, long iova, Access access) {
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

    List<String> commandLog() {
        return device.commandLog();
    }

    /** Frees a domain with no endpoint; queued requests naming its ID reach the device first. */
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
            queue.sync(); // queued requests name this ID: they must not reach its next owner
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

    // ------------------------------------------------------------------ what the domains read

    long pgsizeBitmap() {
        return pgsizeBitmap;
    }

    long apertureStart() {
        return apertureStart;
    }

    long apertureEnd() {
        return apertureEnd;
    }

    int mapFlags() {
        return mapFlags;
    }

    String name() {
        return params.name;
    }

    // ------------------------------------------------------------------ inspection

    VirtioIommuDevice device() {
        return device;
    }

    long negotiatedFeatures() {
        return negotiated;
    }

    /** Reads driver state under the driver's lock (inspection only, never on a hot path). */
    private <T> T locked(Supplier<T> read) {
        lock.lock();
        try {
            return read.get();
        } finally {
            lock.unlock();
        }
    }

    /** Requests queued and not yet kicked. */
    List<Request> queued() {
        return locked(queue::queued);
    }

    long kicks() {
        return locked(queue::kicks);
    }

    long unreadFailures() {
        return locked(queue::unreadFailures);
    }

    /** The reserved regions the driver learned for an endpoint. */
    List<ResvRegion> reservedRegions(String device) {
        return locked(() -> endpoint(device).resv);
    }

    /** The domain the driver believes the endpoint is on, or null. */
    VirtioIommuDomain attachedDomain(String device) {
        return locked(() -> endpoint(device).vdomain);
    }

    int endpointCount(VirtioIommuDomain vd) {
        return locked(() -> vd.nrEndpoints);
    }

    /** The driver's tree of a domain, in ascending order. */
    List<IntervalMap.Interval<VirtioIommuDomain.Mapping>> driverMappings(VirtioIommuDomain vd) {
        return locked(vd.mappings::all);
    }

    VirtioIommuParams params() {
        return locked(() -> params);
    }

    @Override
    public String toString() {
        return "virtio-iommu " + params.name + " " + caps;
    }
}
