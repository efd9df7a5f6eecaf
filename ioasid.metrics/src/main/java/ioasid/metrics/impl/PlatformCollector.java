package ioasid.metrics.impl;

import java.util.Map;
import java.util.function.Supplier;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import ioasid.api.IoasidService;
import ioasid.api.dto.CapacityDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.dto.SetDTO;
import ioasid.api.dto.StatsDTO;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.dto.BackendDTO;

/**
 * The platform's metrics, read from the cores' snapshots when Prometheus scrapes: no counter of
 * this bundle sits on the allocation, event or page-table paths. A core that is missing leaves
 * its families empty.
 *
 *  1. IOASID core: allocations, IDs given back, revocations, allocator switches and faults,
 *     listener deliveries, failures and stalls (StatsDTO); live IDs per ID space and per set,
 *     set quotas, the capacity; per listener its deliveries, failures and whether it is stalled.
 *  2. IOMMU core: per backend whether it serves, its attachments, map and unmap calls, and its
 *     IOMMU faults by kind (BackendDTO); its arrivals and departures as this bundle saw them
 *     ({@link HotSwaps}).
 */
final class PlatformCollector implements MultiCollector {
    private final Supplier<IoasidService> ioasid;
    private final Supplier<IommuService> iommu;
    private final HotSwaps swaps;

    PlatformCollector(Supplier<IoasidService> ioasid, Supplier<IommuService> iommu,
            HotSwaps swaps) {
        this.ioasid = ioasid;
        this.iommu = iommu;
        this.swaps = swaps;
    }

    @Override
    public MetricSnapshots collect() {
        Families f = new Families();
        ioasid(f, ioasid.get());
        iommu(f, iommu.get());
        return f.build();
    }

    private static void ioasid(Families f, IoasidService s) {
        f.counter("ioasid_allocations", "IOASIDs allocated")
                .counter("ioasid_frees", "IOASIDs given back to their ID space: freed, and "
                        + "their last reference put")
                .counter("ioasid_revocations", "IOASIDs revoked because the last allocator of "
                        + "their ID space left (D7)")
                .counter("ioasid_allocator_switches", "Changes of the active ID space, "
                        + "fallbacks included")
                .counter("ioasid_allocator_faults", "Custom allocator calls that threw or "
                        + "returned an unusable ID")
                .counter("ioasid_events_delivered", "Events delivered to listeners")
                .counter("ioasid_events_delivered_by_type", "Events delivered to listeners, "
                        + "by event type")
                .counter("ioasid_listener_failures", "Listener calls that threw")
                .counter("ioasid_listener_stalls", "Listeners found stalled")
                .gauge("ioasid_live_ids", "IOASIDs live (FREE_PENDING included)")
                .gauge("ioasid_capacity", "IDs the system capacity lets sets hold")
                .gauge("ioasid_capacity_available", "Capacity not given to a set")
                .gauge("ioasid_space_live_ids", "IDs of an ID space not yet reclaimed")
                .gauge("ioasid_space_active", "1 for the ID space allocations come from")
                .gauge("ioasid_set_live_ids", "IDs a set holds (FREE_PENDING included)")
                .gauge("ioasid_set_quota", "The quota of a set")
                .counter("ioasid_listener_deliveries", "Events delivered to one listener")
                .counter("ioasid_listener_faults", "Calls of one listener that threw")
                .gauge("ioasid_listener_stalled", "1 while a listener is skipped as stalled");
        if (s == null) {
            return;
        }
        StatsDTO st = s.stats();
        f.point("ioasid_allocations", st.allocations)
                .point("ioasid_frees", st.reclaims)
                .point("ioasid_revocations", st.revoked)
                .point("ioasid_allocator_switches", st.allocatorSwitches)
                .point("ioasid_allocator_faults", st.allocatorFaults)
                .point("ioasid_events_delivered", st.eventsDelivered)
                .point("ioasid_listener_failures", st.listenerFailures)
                .point("ioasid_listener_stalls", st.listenerStalls)
                .point("ioasid_live_ids", st.live);
        if (st.eventsDeliveredByType != null) {
            for (Map.Entry<String, Long> e : st.eventsDeliveredByType.entrySet()) {
                f.point("ioasid_events_delivered_by_type", e.getValue(), "type", e.getKey());
            }
        }
        CapacityDTO c = s.capacity();
        f.point("ioasid_capacity", c.capacity).point("ioasid_capacity_available", c.available);
        for (IdSpaceDTO sp : s.idSpaces()) {
            f.point("ioasid_space_live_ids", sp.live, "space", sp.name)
                    .point("ioasid_space_active", sp.active ? 1 : 0, "space", sp.name);
        }
        for (SetDTO set : s.sets()) {
            String[] labels = {"set", Integer.toString(set.id), "token_type", set.tokenType,
                "token", set.token};
            f.point("ioasid_set_live_ids", set.size, labels)
                    .point("ioasid_set_quota", set.quota, labels);
        }
        for (ListenerDTO l : s.listeners()) {
            String[] labels = {"listener", l.name, "service_id", Long.toString(l.serviceId)};
            f.point("ioasid_listener_deliveries", l.delivered, labels)
                    .point("ioasid_listener_faults", l.failures, labels)
                    .point("ioasid_listener_stalled", ListenerDTO.STALLED.equals(l.state) ? 1 : 0,
                            labels);
        }
    }

    private void iommu(Families f, IommuService s) {
        f.gauge("ioasid_iommu_backend_up", "1 while an IOMMU backend serves, 0 while it is "
                        + "FAILED")
                .counter("ioasid_iommu_attaches", "Devices and PASIDs a backend attached")
                .counter("ioasid_iommu_maps", "Page-table map calls on a backend's domains")
                .counter("ioasid_iommu_unmaps", "Page-table unmap calls on a backend's domains")
                .counter("ioasid_iommu_faults", "IOMMU faults of a backend, by kind: "
                        + "translation (DMA the hardware faulted) or driver (a failed call)")
                .counter("ioasid_iommu_backend_arrivals", "Times a backend service appeared")
                .counter("ioasid_iommu_backend_departures", "Times a backend service left");
        for (Map.Entry<String, long[]> e : swaps.counts().entrySet()) {
            f.point("ioasid_iommu_backend_arrivals", e.getValue()[0], "backend", e.getKey())
                    .point("ioasid_iommu_backend_departures", e.getValue()[1], "backend",
                            e.getKey());
        }
        if (s == null) {
            return;
        }
        for (BackendDTO b : s.backends()) {
            String[] labels = {"backend", b.name, "vendor", b.vendor};
            f.point("ioasid_iommu_backend_up", "ACTIVE".equals(b.state) ? 1 : 0, labels)
                    .point("ioasid_iommu_attaches", b.attaches, labels)
                    .point("ioasid_iommu_maps", b.maps, labels)
                    .point("ioasid_iommu_unmaps", b.unmaps, labels);
            if (b.faultsByKind != null) {
                for (Map.Entry<String, Long> k : b.faultsByKind.entrySet()) {
                    f.point("ioasid_iommu_faults", k.getValue(), "backend", b.name, "vendor",
                            b.vendor, "kind", k.getKey());
                }
            }
        }
    }
}
