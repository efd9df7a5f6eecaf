package ioasid.backend.virtio.impl;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import ioasid.api.iommu.Translation;

/*
 * The virtio-iommu device, as QEMU's hw/virtio/virtio-iommu.c implements it. It sees nothing of
 * the driver but the requests it completes, one at a time and in queue order, under its own lock
 * (QEMU's s->mutex).
 *
 * Rules (kernel-rules.md 101-103 unless marked):
 *  1. ATTACH: unknown flag bits -> INVAL; an endpoint not on the bus -> NOENT. An attached
 *     endpoint is first detached, and its old domain, left with no endpoint, is destroyed with
 *     its mappings. An existing domain ID with the other bypass flag -> INVAL. Then the endpoint
 *     joins the domain (created if new) and the domain's mappings apply to it.
 *     Unlike QEMU (rule 101 OBSERVED), every check runs before anything changes, so a failed
 *     ATTACH leaves the endpoint on its old domain; attachOrder QEMU reproduces the original.
 *  2. DETACH: an endpoint never attached -> NOENT; not attached, or to another domain -> INVAL.
 *     The last detach destroys the domain.
 *  3. MAP: unknown flag bits -> INVAL; unknown domain -> NOENT; bypass domain -> INVAL; a range
 *     overlapping any mapping -> INVAL.
 *  4. UNMAP: unknown domain -> NOENT; bypass domain -> INVAL; removes, in ascending order, every
 *     mapping inside [start, end] and stops with RANGE at the first one only partly inside (what
 *     it removed before stays removed). Nothing mapped there -> OK. QEMU's GTree visits
 *     overlapping nodes in tree order; ascending order makes the partial result deterministic.
 *  5. PROBE: an endpoint not on the bus -> NOENT; properties larger than probe_size -> INVAL;
 *     otherwise one RESV_MEM property per reserved region.
 *  6. Any other request type -> UNSUPP.
 *  7. From the virtio spec's SHOULDs, not in QEMU: a MAP whose range is empty, misaligned on the
 *     granule or outside input_range, and an ATTACH to a domain ID outside domain_range -> RANGE
 *     (the ranges only once their features are negotiated).
 *  8. Translation: an endpoint in a bypass domain, or an unattached one while bypass is allowed
 *     (config.bypass with BYPASS_CONFIG, else the legacy BYPASS feature), passes through before
 *     any check, as QEMU switches it to its bypass memory region. Otherwise an endpoint never
 *     attached -> fault UNKNOWN; an address in a reserved region -> passes for MSI, faults (reason
 *     MAPPING) otherwise; no domain -> DOMAIN; no mapping -> MAPPING; a read of a mapping without
 *     READ or a write without WRITE -> MAPPING with that flag. Every fault carries ADDRESS and is
 *     queued on the event queue.
 *  9. The device has no IOTLB: translation reads the mapping tree, so a completed UNMAP takes
 *     effect at once.
 */
final class VirtioIommuDevice {

    /** Whether a failed ATTACH may already have detached the endpoint (QEMU) or not. */
    enum AttachOrder {
        CHECK_FIRST,
        QEMU
    }

    /** The translation the device would apply to one DMA. */
    record DeviceWalk(Translation.Outcome outcome, long phys, String reason, long domain,
            Fault fault) {
        static DeviceWalk bypass(long addr, long domain) {
            return new DeviceWalk(Translation.Outcome.BYPASS, addr, null, domain, null);
        }

        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VirtioIommuBackend
            return o instanceof DeviceWalk w && w.outcome == outcome && w.phys == phys
                    && Objects.equals(w.reason, reason) && w.domain == domain
                    && Objects.equals(w.fault, fault);
        }

        @Override
        public int hashCode() {
            int h = Objects.hashCode(outcome);
            h = 31 * h + Long.hashCode(phys);
            h = 31 * h + Objects.hashCode(reason);
            h = 31 * h + Long.hashCode(domain);
            return 31 * h + Objects.hashCode(fault);
        }

        @Override
        public String toString() {
            return "DeviceWalk[outcome=" + outcome + ", phys=" + phys + ", reason=" + reason
                    + ", domain=" + domain + ", fault=" + fault + "]";
        }
    }

    /** What a mapping holds besides its range. */
    record Mapping(long phys, int flags) {
        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VirtioIommuBackend
            return o instanceof Mapping m && m.phys == phys && m.flags == flags;
        }

        @Override
        public int hashCode() {
            return 31 * Long.hashCode(phys) + flags;
        }

        @Override
        public String toString() {
            return "Mapping[phys=" + phys + ", flags=" + flags + "]";
        }
    }

    private static final class Domain {
        final long id;
        final boolean bypass;
        final IntervalMap<Mapping> mappings = new IntervalMap<>();
        final Set<Long> endpoints = new LinkedHashSet<>();

        Domain(long id, boolean bypass) {
            this.id = id;
            this.bypass = bypass;
        }
    }

    private static final class Endpoint {
        final long id;
        Domain domain;

        Endpoint(long id) {
            this.id = id;
        }
    }

    static final int LOG_MAX = 4096;
    static final int EVENT_QUEUE_SIZE = 256;

    // configuration space and features: fixed for the device's life
    private final long pageSizeMask;
    private final long inputStart;
    private final long inputEnd;
    private final long domainStart;
    private final long domainEnd;
    private final int probeSize;
    private final long offered;
    private final List<ResvRegion> reserved;
    private final AttachOrder attachOrder;

    // everything below is guarded by this
    private long negotiated;
    private boolean configBypass;
    private final Set<Long> bus = new TreeSet<>();
    private final TreeMap<Long, Domain> domains = new TreeMap<>();
    private final TreeMap<Long, Endpoint> endpoints = new TreeMap<>();
    private final Deque<RequestRecord> log = new ArrayDeque<>();
    private final Deque<Fault> events = new ArrayDeque<>();
    private final Map<Integer, Deque<Integer>> injected = new HashMap<>();
    private long seq;
    private long faultsDropped;

    VirtioIommuDevice(VirtioIommuParams p) {
        this.pageSizeMask = p.pageSizeMask;
        this.inputStart = p.inputStart;
        this.inputEnd = p.inputEnd;
        this.domainStart = p.domainStart;
        this.domainEnd = p.domainEnd;
        this.probeSize = p.probeSize;
        this.offered = p.features;
        this.reserved = List.copyOf(p.reservedRegions);
        this.attachOrder = p.qemuAttachOrder ? AttachOrder.QEMU : AttachOrder.CHECK_FIRST;
        this.negotiated = offered;
        this.configBypass = p.bootBypass;
    }

    // ------------------------------------------------------------------ configuration space

    long pageSizeMask() {
        return pageSizeMask;
    }

    long inputStart() {
        return inputStart;
    }

    long inputEnd() {
        return inputEnd;
    }

    long domainStart() {
        return domainStart;
    }

    long domainEnd() {
        return domainEnd;
    }

    int probeSize() {
        return probeSize;
    }

    long offeredFeatures() {
        return offered;
    }

    AttachOrder attachOrder() {
        return attachOrder;
    }

    /** Feature negotiation: the device keeps what both sides know. */
    synchronized long negotiate(long driverFeatures) {
        negotiated = offered & driverFeatures;
        return negotiated;
    }

    synchronized long negotiatedFeatures() {
        return negotiated;
    }

    synchronized boolean configBypass() {
        return configBypass;
    }

    /** A driver write of config.bypass; QEMU refuses it (virtio_error) without BYPASS_CONFIG. */
    synchronized void writeConfigBypass(boolean bypass) {
        if (!Feature.BYPASS_CONFIG.in(negotiated)) {
            throw new IllegalStateException("cannot set config.bypass without BYPASS_CONFIG");
        }
        configBypass = bypass;
    }

    private boolean bypassAllowed() {
        return Feature.BYPASS_CONFIG.in(negotiated) ? configBypass
                : Feature.BYPASS.in(negotiated);
    }

    private long granule() {
        return Long.lowestOneBit(pageSizeMask);
    }

    // ------------------------------------------------------------------ the PCI bus behind it

    /** A device with this endpoint ID appears behind the IOMMU. */
    synchronized void plug(long endpoint) {
        bus.add(endpoint);
    }

    /** The device goes: its endpoint state goes with it (QEMU's put_endpoint). */
    synchronized void unplug(long endpoint) {
        bus.remove(endpoint);
        Endpoint ep = endpoints.remove(endpoint);
        if (ep != null && ep.domain != null) {
            ep.domain.endpoints.remove(ep.id); // like QEMU, an emptied domain stays
            ep.domain = null;
        }
    }

    // ------------------------------------------------------------------ request queue

    /** Makes the next request of {@code type} complete with {@code status}, doing nothing. */
    synchronized void injectStatus(int type, int status) {
        injected.computeIfAbsent(type, t -> new ArrayDeque<>()).add(status);
    }

    /** Completes one request from the request queue and records it. */
    synchronized RequestRecord process(Request r) {
        List<ResvRegion> props = List.of();
        int status;
        Deque<Integer> forced = injected.get(r.type());
        if (forced != null && !forced.isEmpty()) {
            status = forced.poll();
        } else if (r instanceof Request.Attach a) {
            status = attach(a).code;
        } else if (r instanceof Request.Detach d) {
            status = detach(d).code;
        } else if (r instanceof Request.Map m) {
            status = map(m).code;
        } else if (r instanceof Request.Unmap u) {
            status = unmap(u).code;
        } else if (r instanceof Request.Probe p) {
            if (!bus.contains(p.endpoint())) {
                status = Status.NOENT.code;
            } else if (ResvRegion.PROPERTY_SIZE * reserved.size() > probeSize) {
                status = Status.INVAL.code; // QEMU: -ENOSPC filling the buffer
            } else {
                status = Status.OK.code;
                props = reserved;
            }
        } else {
            status = Status.UNSUPP.code;
        }
        RequestRecord rec = new RequestRecord(++seq, r, status, props);
        log.addLast(rec);
        if (log.size() > LOG_MAX) {
            log.removeFirst();
        }
        return rec;
    }

    private Status attach(Request.Attach a) {
        if ((a.flags() & ~Request.ATTACH_F_BYPASS) != 0) {
            return Status.INVAL;
        }
        if (!bus.contains(a.endpoint())) {
            return Status.NOENT;
        }
        if (Feature.DOMAIN_RANGE.in(negotiated) && (a.domain() < domainStart
                || a.domain() > domainEnd)) {
            return Status.RANGE;
        }
        boolean bypass = (a.flags() & Request.ATTACH_F_BYPASS) != 0;
        Endpoint ep = endpoints.get(a.endpoint());
        if (attachOrder == AttachOrder.CHECK_FIRST) {
            Domain target = domains.get(a.domain());
            // the target outlives the detach unless it is the endpoint's own, emptied by it
            boolean survives = target != null && !(ep != null && ep.domain == target
                    && target.endpoints.size() == 1);
            if (survives && target.bypass != bypass) {
                return Status.INVAL;
            }
        }
        if (ep == null) {
            ep = new Endpoint(a.endpoint());
            endpoints.put(ep.id, ep);
        }
        if (ep.domain != null) {
            detachEndpoint(ep);
        }
        Domain d = domains.get(a.domain());
        if (d == null) {
            d = new Domain(a.domain(), bypass);
            domains.put(d.id, d);
        } else if (d.bypass != bypass) {
            return Status.INVAL; // reached only in QEMU order: the endpoint is already detached
        }
        d.endpoints.add(ep.id);
        ep.domain = d;
        return Status.OK;
    }

    /** Takes the endpoint off its domain and destroys the domain if it is left empty. */
    private void detachEndpoint(Endpoint ep) {
        Domain old = ep.domain;
        old.endpoints.remove(ep.id);
        ep.domain = null;
        if (old.endpoints.isEmpty()) {
            domains.remove(old.id);
        }
    }

    private Status detach(Request.Detach d) {
        Endpoint ep = endpoints.get(d.endpoint());
        if (ep == null) {
            return Status.NOENT;
        }
        if (ep.domain == null || ep.domain.id != d.domain()) {
            return Status.INVAL;
        }
        detachEndpoint(ep);
        return Status.OK;
    }

    private Status map(Request.Map m) {
        if ((m.flags() & ~Request.MAP_F_MASK) != 0) {
            return Status.INVAL;
        }
        Domain d = domains.get(m.domain());
        if (d == null) {
            return Status.NOENT;
        }
        if (d.bypass) {
            return Status.INVAL;
        }
        long g = granule() - 1;
        if (Long.compareUnsigned(m.virtStart(), m.virtEnd()) > 0
                || (m.virtStart() & g) != 0 || (m.physStart() & g) != 0
                || ((m.virtEnd() + 1) & g) != 0
                || Feature.INPUT_RANGE.in(negotiated)
                        && (Long.compareUnsigned(m.virtStart(), inputStart) < 0
                                || Long.compareUnsigned(m.virtEnd(), inputEnd) > 0)) {
            return Status.RANGE;
        }
        if (d.mappings.overlaps(m.virtStart(), m.virtEnd())) {
            return Status.INVAL;
        }
        d.mappings.put(m.virtStart(), m.virtEnd(), new Mapping(m.physStart(), m.flags()));
        return Status.OK;
    }

    private Status unmap(Request.Unmap u) {
        Domain d = domains.get(u.domain());
        if (d == null) {
            return Status.NOENT;
        }
        if (d.bypass) {
            return Status.INVAL;
        }
        for (IntervalMap.Interval<Mapping> i : d.mappings.overlapping(u.virtStart(),
                u.virtEnd())) {
            if (!i.within(u.virtStart(), u.virtEnd())) {
                return Status.RANGE;
            }
            d.mappings.remove(i.start());
        }
        return Status.OK;
    }

    // ------------------------------------------------------------------ translation

    /** What the device does with one DMA from {@code endpoint} now; faults are queued. */
    synchronized DeviceWalk translate(long endpoint, long addr, boolean write) {
        Endpoint ep = endpoints.get(endpoint);
        boolean bypassed = ep != null && ep.domain != null ? ep.domain.bypass : bypassAllowed();
        if (bypassed) {
            return DeviceWalk.bypass(addr, ep != null && ep.domain != null ? ep.domain.id : -1);
        }
        if (ep == null) {
            return fault("UNKNOWN", -1, Fault.R_UNKNOWN, 0, endpoint, addr);
        }
        long domainId = ep.domain != null ? ep.domain.id : -1;
        for (ResvRegion r : reserved) {
            if (r.contains(addr)) {
                if (r.subtype() == ResvRegion.MSI) {
                    return DeviceWalk.bypass(addr, -1);
                }
                return fault("RESERVED", domainId, Fault.R_MAPPING, 0, endpoint, addr);
            }
        }
        if (ep.domain == null) {
            return fault("DOMAIN", -1, Fault.R_DOMAIN, 0, endpoint, addr);
        }
        IntervalMap.Interval<Mapping> m = ep.domain.mappings.find(addr);
        if (m == null) {
            return fault("MAPPING", domainId, Fault.R_MAPPING, 0, endpoint, addr);
        }
        int flags = !write && (m.value().flags() & Request.MAP_F_READ) == 0 ? Fault.F_READ : 0;
        flags |= write && (m.value().flags() & Request.MAP_F_WRITE) == 0 ? Fault.F_WRITE : 0;
        if (flags != 0) {
            return fault("MAPPING", domainId, Fault.R_MAPPING, flags, endpoint, addr);
        }
        return new DeviceWalk(Translation.Outcome.TRANSLATED, addr - m.start() + m.value().phys(),
                null, domainId, null);
    }

    private DeviceWalk fault(String reason, long domain, int code, int flags, long endpoint,
            long addr) {
        Fault f = new Fault(code, flags | Fault.F_ADDRESS, endpoint, addr);
        if (events.size() >= EVENT_QUEUE_SIZE) {
            events.removeFirst(); // the driver consumed it long ago; keep the newest
            faultsDropped++;
        }
        events.addLast(f);
        return new DeviceWalk(Translation.Outcome.FAULT, -1, reason, domain, f);
    }

    // ------------------------------------------------------------------ inspection

    synchronized List<RequestRecord> requests() {
        return new ArrayList<>(log);
    }

    synchronized List<String> commandLog() {
        List<String> out = new ArrayList<>(log.size());
        for (RequestRecord r : log) {
            out.add(r.toString());
        }
        return out;
    }

    synchronized long completed() {
        return seq;
    }

    synchronized List<Fault> faults() {
        return new ArrayList<>(events);
    }

    synchronized boolean hasDomain(long id) {
        return domains.containsKey(id);
    }

    synchronized Set<Long> domainIds() {
        return new TreeSet<>(domains.keySet());
    }

    synchronized boolean domainBypass(long id) {
        Domain d = domains.get(id);
        return d != null && d.bypass;
    }

    /** The domain's mappings in ascending order, empty when the domain does not exist. */
    synchronized List<IntervalMap.Interval<Mapping>> mappings(long domain) {
        Domain d = domains.get(domain);
        return d != null ? d.mappings.all() : List.of();
    }

    synchronized boolean knowsEndpoint(long endpoint) {
        return endpoints.containsKey(endpoint);
    }

    /** The domain the endpoint is attached to, or -1. */
    synchronized long endpointDomain(long endpoint) {
        Endpoint ep = endpoints.get(endpoint);
        return ep != null && ep.domain != null ? ep.domain.id : -1;
    }

    /** Domains, their endpoints and mappings, and endpoints: to check a request changed nothing. */
    synchronized String state() {
        StringBuilder b = new StringBuilder();
        for (Domain d : domains.values()) {
            b.append("domain ").append(d.id).append(d.bypass ? " bypass" : "").append(" eps ")
                    .append(d.endpoints).append(' ');
            for (IntervalMap.Interval<Mapping> i : d.mappings.all()) {
                b.append('[').append(Request.hex(i.start())).append(',')
                        .append(Request.hex(i.end())).append("]->")
                        .append(Request.hex(i.value().phys())).append(' ')
                        .append(Request.flagString(i.value().flags())).append(' ');
            }
            b.append('\n');
        }
        for (Endpoint ep : endpoints.values()) {
            b.append("ep ").append(Request.hex(ep.id)).append(" -> ")
                    .append(ep.domain != null ? ep.domain.id : -1).append('\n');
        }
        return b.toString();
    }
}
