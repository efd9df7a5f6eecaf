package ioasid.shell.impl;

import static ioasid.shell.impl.Shell.args;
import static ioasid.shell.impl.Shell.integer;

import java.util.Arrays;

import org.apache.felix.service.command.Descriptor;
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

/**
 * The {@code ioasid} Gogo scope: the IOASID service for an operator. Commands take their
 * arguments as text and check them, so bad input gets one line "ERRNO: message" and changes
 * nothing; IDs act with the operator's authority (no set), as root would.
 */
@Component(service = IoasidCommands.class, property = {"osgi.command.scope=ioasid",
    "osgi.command.function=sets", "osgi.command.function=mkset", "osgi.command.function=rmset",
    "osgi.command.function=alloc", "osgi.command.function=free", "osgi.command.function=get",
    "osgi.command.function=put", "osgi.command.function=find", "osgi.command.function=ids",
    "osgi.command.function=attach", "osgi.command.function=detach",
    "osgi.command.function=spaces", "osgi.command.function=allocators",
    "osgi.command.function=listeners", "osgi.command.function=capacity",
    "osgi.command.function=stats"})
public final class IoasidCommands {

    @Reference(target = "(!(ioasid.role=host))")
    IoasidService ioasid;

    private IoasidSet set(String id) {
        return ioasid.findSet(integer(id, "set"));
    }

    private IoasidHandle id(String id) {
        return ioasid.find(null, integer(id, "ID"));
    }

    @Descriptor("list the IOASID sets: ID, token, quota, size, SPIDs, state, listeners")
    public void sets(String... a) {
        Shell.run(() -> {
            args(a, 0, 0, "sets");
            Table t = new Table("SET", "TYPE", "TOKEN", "QUOTA", "SIZE", "SPIDS", "STATE",
                    "LISTENERS");
            for (SetDTO s : ioasid.sets()) {
                t.row(s.id, s.tokenType, s.token, s.quota, s.size, s.spids, s.state, s.listeners);
            }
            return t.toString();
        });
    }

    @Descriptor("create a set: mkset <token> [quota] [NONE|MM] (quota 0: all available)")
    public void mkset(String... a) {
        Shell.run(() -> {
            args(a, 1, 3, "mkset <token> [quota] [NONE|MM]");
            int quota = a.length > 1 ? integer(a[1], "quota") : 0;
            TokenType type;
            try {
                type = a.length > 2 ? TokenType.valueOf(a[2].toUpperCase()) : TokenType.NONE;
            } catch (IllegalArgumentException e) {
                throw new IoasidException(Errno.EINVAL, "token type '" + a[2]
                        + "' is neither NONE nor MM");
            }
            IoasidSet s = ioasid.createSet(type, a[0], quota);
            return "set " + s.id() + " created (" + type + " " + a[0] + ", quota " + s.quota()
                    + ")\n";
        });
    }

    @Descriptor("free a set: rmset <set>; one that still holds IDs goes with its last ID")
    public void rmset(String... a) {
        Shell.run(() -> {
            args(a, 1, 1, "rmset <set>");
            IoasidSet s = set(a[0]);
            return ioasid.freeSet(s) ? "set " + s.id() + " freed\n"
                    : "set " + s.id() + " is FREE_PENDING: it holds " + s.size() + " IDs\n";
        });
    }

    @Descriptor("allocate an IOASID: alloc <set> [<min> <max>] (default 1 to the largest ID)")
    public void alloc(String... a) {
        Shell.run(() -> {
            if (a.length != 1 && a.length != 3) {
                throw new IoasidException(Errno.EINVAL, "usage: alloc <set> [<min> <max>]");
            }
            IoasidSet s = set(a[0]);
            int min = a.length == 3 ? integer(a[1], "min") : 1;
            int max = a.length == 3 ? integer(a[2], "max") : ioasid.capacity().maxId;
            IoasidHandle h = ioasid.alloc(s, min, max, null);
            return "IOASID " + h.id() + " allocated in set " + s.id() + "\n";
        });
    }

    @Descriptor("free an IOASID: free <id>; with references left it goes FREE_PENDING")
    public void free(String... a) {
        Shell.run(() -> {
            args(a, 1, 1, "free <id>");
            IoasidHandle h = id(a[0]);
            ioasid.free(h);
            return "IOASID " + h.id() + " is " + h.state() + "\n";
        });
    }

    @Descriptor("take a reference: get <id>")
    public void get(String... a) {
        Shell.run(() -> {
            args(a, 1, 1, "get <id>");
            IoasidHandle h = id(a[0]);
            ioasid.get(h);
            return "IOASID " + h.id() + ": " + h.refCount() + " references\n";
        });
    }

    @Descriptor("drop a reference: put <id>; the last one reclaims the ID")
    public void put(String... a) {
        Shell.run(() -> {
            args(a, 1, 1, "put <id>");
            IoasidHandle h = id(a[0]);
            boolean gone = ioasid.put(h);
            return gone ? "IOASID " + h.id() + " reclaimed\n"
                    : "IOASID " + h.id() + ": " + h.refCount() + " references\n";
        });
    }

    @Descriptor("show one IOASID: find <id>")
    public void find(String... a) {
        Shell.run(() -> {
            args(a, 1, 1, "find <id>");
            return id(a[0]) + "\n";
        });
    }

    @Descriptor("list live IOASIDs: ids [set] [limit] (limit 100 by default)")
    public void ids(String... a) {
        Shell.run(() -> {
            args(a, 0, 2, "ids [set] [limit]");
            IoasidSet s = a.length > 0 && !a[0].equals("*") ? set(a[0]) : null;
            int limit = a.length > 1 ? integer(a[1], "limit") : 100;
            Table t = new Table("ID", "SET", "STATE", "REFS", "SPID", "REVOKED", "DATA");
            for (IoasidDTO d : ioasid.ids(s, limit)) {
                t.row(d.id, d.setId, d.state, d.refs, d.spid == Ioasid.INVALID ? null : d.spid,
                        d.revoked ? "yes" : "", d.privateData);
            }
            return t.toString();
        });
    }

    @Descriptor("attach a set-private ID (SPID): attach <id> <spid>; sends BIND")
    public void attach(String... a) {
        Shell.run(() -> {
            args(a, 2, 2, "attach <id> <spid>");
            IoasidHandle h = id(a[0]);
            ioasid.attachSpid(h, integer(a[1], "SPID"));
            return "IOASID " + h.id() + " has SPID " + h.spid() + " in set " + h.set().id()
                    + "\n";
        });
    }

    @Descriptor("detach an IOASID's SPID: detach <id>; sends UNBIND")
    public void detach(String... a) {
        Shell.run(() -> {
            args(a, 1, 1, "detach <id>");
            IoasidHandle h = id(a[0]);
            ioasid.detachSpid(h);
            return "IOASID " + h.id() + " has no SPID\n";
        });
    }

    @Descriptor("list the ID spaces: the default one and one per helper group, with usage")
    public void spaces(String... a) {
        Shell.run(() -> {
            args(a, 0, 0, "spaces");
            Table t = new Table("SPACE", "ACTIVE", "LIVE", "IN-FLIGHT", "ALLOCATORS");
            for (IdSpaceDTO s : ioasid.idSpaces()) {
                t.row(s.name, s.active ? "*" : "", s.live, s.inFlight,
                        s.isDefault ? "(default)" : Arrays.toString(s.members));
            }
            return t.toString();
        });
    }

    @Descriptor("list the custom allocators in precedence order: active, sharing, waiting and why")
    public void allocators(String... a) {
        Shell.run(() -> {
            args(a, 0, 0, "allocators");
            Table t = new Table("SERVICE", "NAME", "RANKING", "SPACE", "STATE", "WHY");
            for (AllocatorDTO d : ioasid.allocators()) {
                t.row(d.serviceId, d.name, d.ranking, d.idSpace, d.state,
                        d.errno == null ? null : d.errno + ": " + d.reason);
            }
            return t.size() == 0 ? "no custom allocator: the default allocator is active\n"
                    : t.toString();
        });
    }

    @Descriptor("list the listeners in chain order (highest priority first)")
    public void listeners(String... a) {
        Shell.run(() -> {
            args(a, 0, 0, "listeners");
            Table t = new Table("SERVICE", "NAME", "RANKING", "SCOPE", "EVENTS", "STATE",
                    "DELIVERED", "FAILURES");
            for (ListenerDTO d : ioasid.listeners()) {
                String scope = d.scope.equals("set") ? "set " + d.token + (d.setId >= 0
                        ? " (set " + d.setId + ")" : "") : "system";
                t.row(d.serviceId, d.name, d.ranking, scope, String.join(",", d.events), d.state,
                        d.delivered, d.failures);
            }
            return t.toString();
        });
    }

    @Descriptor("show the system capacity and the ID width")
    public void capacity(String... a) {
        Shell.run(() -> {
            args(a, 0, 0, "capacity");
            CapacityDTO c = ioasid.capacity();
            return "capacity " + c.capacity + ", available " + c.available + ", " + c.idBits
                    + "-bit IDs up to " + c.maxId + "\n";
        });
    }

    @Descriptor("show counters: allocations, reclaims, revocations, faults, listener failures")
    public void stats(String... a) {
        Shell.run(() -> {
            args(a, 0, 0, "stats");
            StatsDTO s = ioasid.stats();
            return "live " + s.live + ", allocations " + s.allocations + ", reclaims " + s.reclaims
                    + ", revoked " + s.revoked + ", allocator switches " + s.allocatorSwitches
                    + ", allocator faults " + s.allocatorFaults + "\nevents delivered "
                    + s.eventsDelivered + ", listener failures " + s.listenerFailures
                    + ", listener stalls " + s.listenerStalls + "\n";
        });
    }
}
