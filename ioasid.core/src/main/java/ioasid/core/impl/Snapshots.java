package ioasid.core.impl;

import static ioasid.api.Errno.EAGAIN;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;

import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.CapacityDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.api.dto.IoasidDTO;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.dto.SetDTO;
import ioasid.api.dto.StatsDTO;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidListener;

/*
 * The IOASID core's state as DTOs for operators, each taken whole under the core lock so that it
 * is consistent. Reads only: it changes nothing, and nothing calls it but IoasidCore.
 *
 * Rules this class reports on: a preferred allocator that waits is listed with EAGAIN and the
 * reason (D4); rejected allocators and listeners, stalls, faults and revocations are listed
 * with their counts, so that nothing fails silently (D2).
 */
final class Snapshots {
    private final CoreLock lock;
    private final int bits;
    private final IdBitmap bitmap;
    private final HandleImpl[] table;
    private final SetRegistry sets;
    private final AllocatorStack stack;
    private final ListenerChains chains;
    private final Dispatcher dispatcher;

    Snapshots(CoreLock lock, int bits, IdBitmap bitmap, HandleImpl[] table, SetRegistry sets,
            AllocatorStack stack, ListenerChains chains, Dispatcher dispatcher) {
        this.lock = lock;
        this.bits = bits;
        this.bitmap = bitmap;
        this.table = table;
        this.sets = sets;
        this.stack = stack;
        this.chains = chains;
        this.dispatcher = dispatcher;
    }

    CapacityDTO capacity() {
        lock.lock();
        try {
            CapacityDTO d = new CapacityDTO();
            d.capacity = sets.capacity();
            d.available = sets.available();
            d.idBits = bits;
            d.maxId = (1 << bits) - 1;
            return d;
        } finally {
            lock.unlock();
        }
    }

    IdSpaceDTO[] idSpaces() {
        lock.lock();
        try {
            List<IdSpaceDTO> out = new ArrayList<>();
            out.add(space(stack.defaultGroup));
            for (HelperGroup g : stack.groups()) {
                out.add(space(g));
            }
            return out.toArray(new IdSpaceDTO[0]);
        } finally {
            lock.unlock();
        }
    }

    private IdSpaceDTO space(HelperGroup g) {
        IdSpaceDTO d = new IdSpaceDTO();
        d.name = g.name;
        d.isDefault = g.isDefault();
        d.active = g == stack.active();
        d.live = g.live;
        d.inFlight = g.inFlight;
        d.members = g.members.stream().mapToLong(m -> m.serviceId).toArray();
        return d;
    }

    AllocatorDTO[] allocators() {
        lock.lock();
        try {
            List<AllocatorEntry> all = new ArrayList<>(stack.entries());
            all.sort(AllocatorEntry.PRECEDENCE);
            HelperGroup active = stack.active();
            AllocatorEntry leader = active.leader();
            List<AllocatorDTO> out = new ArrayList<>();
            for (AllocatorEntry e : all) {
                out.add(allocator(e, active, leader));
            }
            return out.toArray(new AllocatorDTO[0]);
        } finally {
            lock.unlock();
        }
    }

    private static AllocatorDTO allocator(AllocatorEntry e, HelperGroup active,
            AllocatorEntry leader) {
        AllocatorDTO d = new AllocatorDTO();
        d.serviceId = e.serviceId;
        d.name = e.name;
        d.ranking = e.ranking;
        d.idSpace = e.group != null ? e.group.name : null;
        if (e.group == null) {
            d.state = AllocatorDTO.REJECTED;
            d.errno = e.rejectErrno.name();
            d.reason = e.rejectReason;
        } else if (e == leader) {
            d.state = AllocatorDTO.ACTIVE;
        } else if (e.group == active) {
            d.state = AllocatorDTO.SHARING;
        } else if (leader == null || AllocatorEntry.PRECEDENCE.compare(e, leader) < 0) {
            d.state = AllocatorDTO.WAITING;
            d.errno = EAGAIN.name();
            d.reason = "ID space " + active.name + " holds " + active.live + " IDs"
                    + (active.inFlight > 0 ? " and " + active.inFlight + " in flight" : "")
                    + "; the switch waits until it is empty";
        } else {
            d.state = AllocatorDTO.STANDBY;
        }
        return d;
    }

    SetDTO[] sets() {
        lock.lock();
        try {
            List<SetDTO> out = new ArrayList<>();
            for (SetImpl s : sets.all()) {
                SetDTO d = new SetDTO();
                d.id = s.id;
                d.tokenType = s.type.name();
                d.token = s.token == null ? null : String.valueOf(s.token);
                d.owner = s.ownedBy == null ? null : s.ownedBy.label();
                d.quota = s.quota;
                d.size = s.size;
                d.spids = s.spidCount();
                d.state = s.state.name();
                d.listeners = s.chain.length;
                out.add(d);
            }
            return out.toArray(new SetDTO[0]);
        } finally {
            lock.unlock();
        }
    }

    ListenerDTO[] listeners() {
        lock.lock();
        try {
            List<ListenerEntry> all = new ArrayList<>(chains.entries());
            all.sort(ListenerEntry.CHAIN_ORDER);
            List<ListenerDTO> out = new ArrayList<>();
            for (ListenerEntry e : all) {
                out.add(listener(e));
            }
            return out.toArray(new ListenerDTO[0]);
        } finally {
            lock.unlock();
        }
    }

    private static ListenerDTO listener(ListenerEntry e) {
        ListenerDTO d = new ListenerDTO();
        d.serviceId = e.serviceId;
        d.name = e.name;
        d.ranking = e.ranking;
        d.scope = e.systemScope ? IoasidListener.SCOPE_SYSTEM : IoasidListener.SCOPE_SET;
        d.tokenType = e.tokenType == null ? null : e.tokenType.name();
        d.token = e.token == null ? null : String.valueOf(e.token);
        d.setId = e.set == null ? -1 : e.set.id;
        d.events = Arrays.stream(EventType.values()).filter(e::wants).map(Enum::name)
                .toArray(String[]::new);
        if (e.rejectErrno != null) {
            d.state = ListenerDTO.REJECTED;
            d.reason = e.rejectErrno + ": " + e.rejectReason;
        } else if (e.stalled) {
            d.state = ListenerDTO.STALLED;
        } else if (!e.systemScope && e.set == null) {
            d.state = ListenerDTO.PENDING;
            d.reason = "no " + e.tokenType + " set with token " + e.token + " yet";
        } else {
            d.state = ListenerDTO.ACTIVE;
        }
        d.delivered = e.delivered;
        d.failures = e.failures;
        d.lastFailure = e.lastFailure;
        return d;
    }

    /** The live IDs of {@code only}, or of every set, lowest first, at most {@code limit}. */
    IoasidDTO[] ids(SetImpl only, int limit) {
        lock.lock();
        try {
            List<IoasidDTO> out = new ArrayList<>();
            for (int id = bitmap.nextSet(1); id >= 0 && out.size() < limit;
                    id = bitmap.nextSet(id + 1)) {
                HandleImpl h = table[id];
                if (h == null || (only != null && h.set != only)) {
                    continue;
                }
                IoasidDTO d = new IoasidDTO();
                int w = h.word();
                d.id = id;
                d.setId = h.set.id;
                d.state = HandleImpl.state(w).name();
                d.refs = HandleImpl.refs(w);
                d.spid = h.spidAcquire();
                d.revoked = (w & HandleImpl.REVOKED) != 0;
                Object data = h.dataAcquire();
                d.privateData = data == null ? null : String.valueOf(data);
                out.add(d);
            }
            return out.toArray(new IoasidDTO[0]);
        } finally {
            lock.unlock();
        }
    }

    /** The counters; the caller holds the core lock and passes its own. */
    StatsDTO stats(int live, long allocations, long reclaims) {
        StatsDTO d = new StatsDTO();
        d.live = live;
        d.allocations = allocations;
        d.reclaims = reclaims;
        d.revoked = stack.revokedTotal;
        d.allocatorSwitches = stack.switches;
        d.allocatorFaults = stack.allocatorFaults.get();
        d.eventsDelivered = dispatcher.eventsDelivered;
        d.eventsDeliveredByType = new LinkedHashMap<>();
        for (EventType t : EventType.values()) {
            d.eventsDeliveredByType.put(t.name(), dispatcher.deliveredByType[t.ordinal()]);
        }
        d.listenerFailures = dispatcher.listenerFailures;
        d.listenerStalls = dispatcher.listenerStalls;
        return d;
    }
}
