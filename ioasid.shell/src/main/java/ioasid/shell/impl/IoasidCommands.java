package ioasid.shell.impl;

import java.util.Arrays;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.CapacityDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.api.dto.IoasidDTO;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.dto.SetDTO;
import ioasid.api.dto.StatsDTO;
import ioasid.shell.impl.Args.Count;
import ioasid.shell.impl.Args.IoasidList;
import ioasid.shell.impl.Args.IoasidNumber;
import ioasid.shell.impl.Args.Quota;
import ioasid.shell.impl.Args.SetNumber;
import ioasid.shell.impl.Args.Spid;

/**
 * The {@code ioasid} Gogo scope: the IOASID service for an operator. A command returns a
 * {@link Reply} (its text, and a value a variable can hold) or fails with one
 * {@link IoasidException} that changes nothing; IDs act with the operator's authority (no set),
 * as root would.
 */
@Component(service = IoasidCommands.class)
@GogoCommand(scope = "ioasid", function = {"sets", "mkset", "rmset", "alloc", "free", "get",
    "put", "find", "ids", "attach", "detach", "spaces", "allocators", "listeners", "capacity",
    "stats"})
public final class IoasidCommands {
    private static final String SET = "the set, by number (ioasid:sets lists them)";
    private static final String ID = "the IOASID";

    @Reference(target = "(!(ioasid.role=host))")
    IoasidService ioasid;

    private IoasidSet set(SetNumber n) {
        return ioasid.findSet(n.value());
    }

    private IoasidHandle id(IoasidNumber n) {
        return ioasid.find(null, n.value());
    }

    @Descriptor("list the IOASID sets: number, token, owner (the platform component that alone "
            + "may free it), quota, size, SPIDs, state, listeners")
    public Reply sets() {
        Table t = new Table("SET", "TYPE", "TOKEN", "OWNER", "QUOTA", "SIZE", "SPIDS", "STATE",
                "LISTENERS");
        for (SetDTO s : ioasid.sets()) {
            t.row(s.id, s.tokenType, s.token, s.owner, s.quota, s.size, s.spids, s.state,
                    s.listeners);
        }
        return Reply.text(t.toString());
    }

    @Descriptor("create a set that takes all the capacity still available")
    public Reply mkset(@Descriptor("the set's token (a name)") String token) {
        return mkset(token, new Quota("0"), TokenType.NONE.name());
    }

    @Descriptor("create a set")
    public Reply mkset(@Descriptor("the set's token (a name)") String token,
            @Descriptor("how many IDs it may hold; 0 takes all the capacity still available")
            Quota quota) {
        return mkset(token, quota, TokenType.NONE.name());
    }

    @Descriptor("create a set")
    public Reply mkset(@Descriptor("the set's token (a name)") String token,
            @Descriptor("how many IDs it may hold; 0 takes all the capacity still available")
            Quota quota, @Descriptor("the token type: NONE or MM") String type) {
        Shell.name(token, "token");
        int q = quota.value();
        TokenType tt;
        try {
            tt = TokenType.valueOf(type.toUpperCase());
        } catch (IllegalArgumentException e) {
            throw new IoasidException(Errno.EINVAL, "token type '" + type
                    + "' is neither NONE nor MM");
        }
        IoasidSet s = ioasid.createSet(tt, token, q);
        String text = "set " + s.id() + " created (" + tt + " " + token + ", quota " + s.quota()
                + ")";
        if (q == 0) {
            text += "\nquota 0 took all the capacity still available; ioasid:rmset " + s.id()
                    + " gives it back";
        }
        return Reply.of(text, s.id());
    }

    @Descriptor("free a set; one that still holds IDs goes with its last ID, and one the "
            + "platform owns is refused (EPERM)")
    public Reply rmset(@Descriptor(SET) SetNumber set) {
        IoasidSet s = set(set);
        return ioasid.freeSet(s) ? Reply.text("set " + s.id() + " freed")
                : Reply.text("set " + s.id() + " is FREE_PENDING: it holds " + s.size()
                        + " IDs");
    }

    @Descriptor("allocate IOASIDs in a set, lowest free first, from 1 to the largest ID")
    public Reply alloc(
            @Descriptor("how many; all of them or none") @Parameter(names = {"-n", "--count"},
                    absentValue = "1") Count count,
            @Descriptor(SET) SetNumber set) {
        return alloc(count, set, new IoasidNumber("1"),
                new IoasidNumber(String.valueOf(ioasid.capacity().maxId)));
    }

    @Descriptor("allocate IOASIDs in a set, lowest free first, within [min, max]")
    public Reply alloc(
            @Descriptor("how many; all of them or none") @Parameter(names = {"-n", "--count"},
                    absentValue = "1") Count count,
            @Descriptor(SET) SetNumber set,
            @Descriptor("the lowest ID to hand out") IoasidNumber min,
            @Descriptor("the highest ID to hand out") IoasidNumber max) {
        IoasidSet s = set(set);
        int lo = min.value();
        int hi = max.value();
        if (lo > hi) {
            throw new IoasidException(Errno.EINVAL, "min " + lo + " is above max " + hi);
        }
        int n = count.value(1, Ioasid.MAX_ID);
        if (n == 1) {
            IoasidHandle h = ioasid.alloc(s, lo, hi, null);
            return Reply.of("IOASID " + h.id() + " allocated in set " + s.id(), h.id());
        }
        IoasidHandle[] got = new IoasidHandle[n];
        int done = 0;
        try {
            for (; done < n; done++) {
                Shell.checkInterrupt("the " + done + " allocated are freed");
                got[done] = ioasid.alloc(s, lo, hi, null);
            }
        } catch (IoasidException e) {
            for (int i = 0; i < done; i++) {
                ioasid.free(got[i]);
            }
            throw new IoasidException(e.errno(), "allocated " + done + " of " + n
                    + ", freed them again: " + e.getMessage().substring(e.errno().name().length()
                            + 2), e);
        }
        int[] ids = Arrays.stream(got).mapToInt(IoasidHandle::id).sorted().toArray();
        return Reply.of(n + " IOASIDs allocated in set " + s.id() + ": "
                + Shell.ranges(ids, 200), ids);
    }

    @Descriptor("free IOASIDs; one with references left goes FREE_PENDING")
    public Reply free(@Descriptor("the IOASIDs: 7, 1-100, 1,3,5-9, or what alloc returned")
            IoasidList ids) {
        int[] list = ids.values();
        IoasidHandle[] handles = new IoasidHandle[list.length];
        for (int i = 0; i < list.length; i++) {
            handles[i] = ioasid.find(null, list[i]);
        }
        if (handles.length == 1) {
            ioasid.free(handles[0]);
            return Reply.text("IOASID " + handles[0].id() + " is " + handles[0].state());
        }
        int pending = 0;
        for (int i = 0; i < handles.length; i++) {
            Shell.checkInterrupt(i + " of " + handles.length + " were freed");
            ioasid.free(handles[i]);
            pending += handles[i].refCount() > 0 ? 1 : 0;
        }
        return Reply.text(handles.length + " IOASIDs freed" + (pending == 0 ? ""
                : ", " + pending + " of them FREE_PENDING (references left)"));
    }

    @Descriptor("take a reference to an IOASID")
    public Reply get(@Descriptor(ID) IoasidNumber id) {
        IoasidHandle h = id(id);
        ioasid.get(h);
        return Reply.text("IOASID " + h.id() + ": " + h.refCount() + " references");
    }

    @Descriptor("drop a reference; the last one reclaims the IOASID")
    public Reply put(@Descriptor(ID) IoasidNumber id) {
        IoasidHandle h = id(id);
        boolean gone = ioasid.put(h);
        return Reply.text(gone ? "IOASID " + h.id() + " reclaimed"
                : "IOASID " + h.id() + ": " + h.refCount() + " references");
    }

    @Descriptor("show one IOASID")
    public Reply find(@Descriptor(ID) IoasidNumber id) {
        IoasidHandle h = id(id);
        return Reply.of(h.toString(), h.id());
    }

    @Descriptor("list live IOASIDs of every set")
    public Reply ids(@Descriptor("how many at most") @Parameter(names = {"-l", "--limit"},
            absentValue = "100") Count limit) {
        return table(null, limit);
    }

    @Descriptor("list the live IOASIDs of one set")
    public Reply ids(@Descriptor("how many at most") @Parameter(names = {"-l", "--limit"},
            absentValue = "100") Count limit, @Descriptor(SET) SetNumber set) {
        return table(set(set), limit);
    }

    private Reply table(IoasidSet s, Count limit) {
        Table t = new Table("ID", "SET", "STATE", "REFS", "SPID", "REVOKED", "DATA");
        for (IoasidDTO d : ioasid.ids(s, limit.value(1, Integer.MAX_VALUE))) {
            t.row(d.id, d.setId, d.state, d.refs, d.spid == Ioasid.INVALID ? null : d.spid,
                    d.revoked ? "yes" : "", d.privateData);
        }
        return Reply.text(t.toString());
    }

    @Descriptor("attach a set-private ID (SPID) to an IOASID; sends BIND")
    public Reply attach(@Descriptor(ID) IoasidNumber id,
            @Descriptor("the SPID, unique in the IOASID's set") Spid spid) {
        IoasidHandle h = id(id);
        ioasid.attachSpid(h, spid.value());
        return Reply.text("IOASID " + h.id() + " has SPID " + h.spid() + " in set "
                + h.set().id());
    }

    @Descriptor("detach an IOASID's SPID; sends UNBIND")
    public Reply detach(@Descriptor(ID) IoasidNumber id) {
        IoasidHandle h = id(id);
        ioasid.detachSpid(h);
        return Reply.text("IOASID " + h.id() + " has no SPID");
    }

    @Descriptor("list the ID spaces: the default one and one per helper group, with usage")
    public Reply spaces() {
        Table t = new Table("SPACE", "ACTIVE", "LIVE", "IN-FLIGHT", "ALLOCATORS");
        for (IdSpaceDTO s : ioasid.idSpaces()) {
            t.row(s.name, s.active ? "*" : "", s.live, s.inFlight,
                    s.isDefault ? "(default)" : Arrays.toString(s.members));
        }
        return Reply.text(t.toString());
    }

    @Descriptor("list the custom allocators in precedence order: active, sharing, waiting and why")
    public Reply allocators() {
        Table t = new Table("SERVICE", "NAME", "RANKING", "SPACE", "STATE", "WHY");
        for (AllocatorDTO d : ioasid.allocators()) {
            t.row(d.serviceId, d.name, d.ranking, d.idSpace, d.state,
                    d.errno == null ? null : d.errno + ": " + d.reason);
        }
        return Reply.text(t.size() == 0 ? "no custom allocator: the default allocator is active"
                : t.toString());
    }

    @Descriptor("list the listeners in chain order (highest priority first)")
    public Reply listeners() {
        Table t = new Table("SERVICE", "NAME", "RANKING", "SCOPE", "EVENTS", "STATE",
                "DELIVERED", "FAILURES");
        for (ListenerDTO d : ioasid.listeners()) {
            String scope = d.scope.equals("set") ? "set " + d.token + (d.setId >= 0
                    ? " (set " + d.setId + ")" : "") : "system";
            t.row(d.serviceId, d.name, d.ranking, scope, String.join(",", d.events), d.state,
                    d.delivered, d.failures);
        }
        return Reply.text(t.toString());
    }

    @Descriptor("show the system capacity and the ID width")
    public Reply capacity() {
        CapacityDTO c = ioasid.capacity();
        return Reply.of("capacity " + c.capacity + ", available " + c.available + ", "
                + c.idBits + "-bit IDs up to " + c.maxId, c.available);
    }

    @Descriptor("show counters: allocations, reclaims, revocations, faults, listener failures")
    public Reply stats() {
        StatsDTO s = ioasid.stats();
        return Reply.text("live " + s.live + ", allocations " + s.allocations + ", reclaims "
                + s.reclaims + ", revoked " + s.revoked + ", allocator switches "
                + s.allocatorSwitches + ", allocator faults " + s.allocatorFaults
                + "\nevents delivered " + s.eventsDelivered + ", listener failures "
                + s.listenerFailures + ", listener stalls " + s.listenerStalls);
    }
}
