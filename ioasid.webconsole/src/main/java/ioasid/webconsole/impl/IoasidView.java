package ioasid.webconsole.impl;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import ioasid.api.IoasidService;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.CapacityDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.dto.OccupancyDTO;
import ioasid.api.dto.SetDTO;
import ioasid.api.dto.StatsDTO;

/**
 * The IOASID page's data, as the service answers it: ID spaces with their allocators (active,
 * waiting and why, helper groups), sets with their quotas, listeners in chain order per scope
 * with their failures, the counters, and the occupancy summary the picture is drawn from. One
 * JSON document holds both the values (for scripts and tests) and the tables rendered as
 * escaped HTML (for the page).
 */
final class IoasidView {
    /** Cells of the picture: 4096 buckets of 256 IDs each for the 20-bit space. */
    static final int BUCKETS = 4096;

    private IoasidView() {
    }

    static String json(IoasidService s) {
        CapacityDTO cap = s.capacity();
        StatsDTO st = s.stats();
        IdSpaceDTO[] spaces = s.idSpaces();
        AllocatorDTO[] allocators = s.allocators();
        SetDTO[] sets = s.sets();
        ListenerDTO[] listeners = s.listeners();
        OccupancyDTO occ = s.occupancy(BUCKETS);
        Json j = new Json().object();
        j.key("capacity").object().field("capacity", cap.capacity)
                .field("available", cap.available).field("idBits", cap.idBits)
                .field("maxId", cap.maxId).end();
        j.key("stats").object().field("live", st.live).field("allocations", st.allocations)
                .field("reclaims", st.reclaims).field("revoked", st.revoked)
                .field("allocatorSwitches", st.allocatorSwitches)
                .field("allocatorFaults", st.allocatorFaults)
                .field("eventsDelivered", st.eventsDelivered)
                .field("listenerFailures", st.listenerFailures)
                .field("listenerStalls", st.listenerStalls).end();
        j.key("sets").array();
        for (SetDTO d : sets) {
            j.object().field("id", d.id).field("tokenType", d.tokenType)
                    .field("token", d.token).field("owner", d.owner).field("quota", d.quota)
                    .field("size", d.size).field("spids", d.spids).field("state", d.state)
                    .field("listeners", d.listeners).end();
        }
        j.end();
        j.key("allocators").array();
        for (AllocatorDTO a : allocators) {
            j.object().field("serviceId", a.serviceId).field("name", a.name)
                    .field("ranking", a.ranking).field("idSpace", a.idSpace)
                    .field("state", a.state).field("errno", a.errno)
                    .field("reason", a.reason).end();
        }
        j.end();
        j.key("listeners").array();
        for (ListenerDTO l : listeners) {
            j.object().field("serviceId", l.serviceId).field("name", l.name)
                    .field("scope", l.scope).field("state", l.state)
                    .field("delivered", l.delivered).field("failures", l.failures).end();
        }
        j.end();
        j.key("occupancy").object().field("maxId", occ.maxId)
                .field("bucketSize", occ.bucketSize).field("live", occ.live)
                .field("dominantSet", occ.dominantSet).end();
        j.key("html").object()
                .field("spaces", spaces(spaces, allocators))
                .field("sets", sets(sets))
                .field("listeners", listeners(listeners))
                .field("stats", stats(cap, st)).end();
        return j.end().toString();
    }

    static String spaces(IdSpaceDTO[] spaces, AllocatorDTO[] allocators) {
        Map<Long, AllocatorDTO> byService = new HashMap<>();
        for (AllocatorDTO a : allocators) {
            byService.put(a.serviceId, a);
        }
        Html h = Html.table("ioasid-spaces", "ID SPACE", "ACTIVE", "LIVE", "IN FLIGHT",
                "ALLOCATORS (HELPER GROUP)");
        for (IdSpaceDTO d : spaces) {
            List<String> members = new ArrayList<>();
            for (long id : d.members == null ? new long[0] : d.members) {
                AllocatorDTO a = byService.get(id);
                members.add(a == null ? "service " + id : a.name + " (" + id + ")");
            }
            h.row(d.name + (d.isDefault ? " (default)" : ""), d.active ? "yes" : "no", d.live,
                    d.inFlight, members.isEmpty() ? null : String.join(", ", members));
        }
        Html a = Html.table("ioasid-allocators", "ALLOCATOR", "SERVICE", "RANKING", "ID SPACE",
                "STATE", "WHY");
        for (AllocatorDTO d : allocators) {
            a.row(d.name, d.serviceId, d.ranking, d.idSpace, d.state,
                    d.errno == null ? d.reason : d.errno + ": " + d.reason);
        }
        if (allocators.length == 0) {
            a.note(6, "no custom allocator: the core's own allocates");
        }
        return h.done() + a.done();
    }

    static String sets(SetDTO[] sets) {
        Html h = Html.table("ioasid-sets", "SET", "TYPE", "TOKEN", "OWNER", "QUOTA USE",
                "SPIDS", "STATE", "LISTENERS");
        for (SetDTO d : sets) {
            h.open().swatch(d.id, d.id).cell(d.tokenType).cell(d.token).cell(d.owner)
                    .bar(d.size, d.quota, d.size + " of " + d.quota).cell(d.spids)
                    .cell(d.state).cell(d.listeners).close();
        }
        if (sets.length == 0) {
            h.note(8, "no set");
        }
        return h.done();
    }

    /** Per scope, in the order the service lists them: the order of the chain. */
    static String listeners(ListenerDTO[] listeners) {
        Map<String, List<ListenerDTO>> byScope = new LinkedHashMap<>();
        for (ListenerDTO l : listeners) {
            String scope = l.scope + (l.setId > 0 ? " set " + l.setId
                    : l.token != null ? " " + l.tokenType + " " + l.token : "");
            byScope.computeIfAbsent(scope, k -> new ArrayList<>()).add(l);
        }
        Html h = Html.table("ioasid-listeners", "SCOPE", "#", "LISTENER", "RANKING", "EVENTS",
                "STATE", "DELIVERED", "FAILURES", "LAST FAILURE");
        for (Map.Entry<String, List<ListenerDTO>> e : byScope.entrySet()) {
            int i = 1;
            for (ListenerDTO l : e.getValue()) {
                h.row(e.getKey(), i++, l.name, l.ranking,
                        l.events == null ? null : String.join(" ", l.events),
                        l.reason == null ? l.state : l.state + ": " + l.reason, l.delivered,
                        l.failures, l.lastFailure);
            }
        }
        if (listeners.length == 0) {
            h.note(9, "no listener");
        }
        return h.done();
    }

    static String stats(CapacityDTO cap, StatsDTO st) {
        Html h = Html.table("ioasid-stats", "LIVE", "CAPACITY", "AVAILABLE", "ALLOCATIONS",
                "RECLAIMS", "REVOKED", "ALLOCATOR SWITCHES", "ALLOCATOR FAULTS", "EVENTS",
                "LISTENER FAILURES", "STALLS");
        h.row(st.live, cap.capacity, cap.available, st.allocations, st.reclaims, st.revoked,
                st.allocatorSwitches, st.allocatorFaults, st.eventsDelivered,
                st.listenerFailures, st.listenerStalls);
        return h.done();
    }
}
