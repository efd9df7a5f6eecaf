package ioasid.core.iommu;

import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOSPC;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.SetOwner;
import ioasid.api.TokenType;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuGroup;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.spi.BackendDomain;

/*
 * The IOMMU core's state: every table, the mutex over them and the work queued to run after it,
 * with the lookups and the domain registry every concept class needs. The concept classes keep no
 * tables of their own, and the handles point here, not at the DS component.
 *
 * Rules:
 *  1. Configuration happens under one mutex, which is held across backend calls. IOASID calls
 *     that send events (and Event Admin posts) run after it, in the order they were queued.
 *  2. A domain is freed only when nothing uses it, so no backend keeps a freed one (known bug 1):
 *     freeHw is the one place a domain's hardware is released, and it first cuts the data path
 *     off (the backend's write lock), so no page-table call runs into a freed domain.
 */
final class IommuState {
    private static final System.Logger LOG = System.getLogger("ioasid.iommu");

    final IoasidService ioasid;
    /** The key to {@link #pasidSet}: no one else may free the set the core's PASIDs need (D19). */
    private final SetOwner pasidSetOwner = new SetOwner("iommu-core");
    /** The set global and private PASIDs come from. */
    final IoasidSet pasidSet;
    private final ReentrantLock mutex = new ReentrantLock();
    /** Work queued under the mutex that runs after it (IOASID events, Event Admin posts). */
    final OrderedActions actions = new OrderedActions();

    // Under the mutex, except where noted.
    final Map<Long, BackendEntry> backends = new LinkedHashMap<>();
    /** The same backends by instance name (D16: one backend per name), kept with the above. */
    final Map<String, BackendEntry> backendsByName = new HashMap<>();
    /** Read without the mutex by translate. */
    final Map<String, DeviceEntry> devices = new ConcurrentHashMap<>();
    final Map<String, GroupImpl> groupsByKey = new LinkedHashMap<>();
    final Map<Integer, GroupImpl> groups = new LinkedHashMap<>();
    final Map<Integer, DomainImpl> domains = new LinkedHashMap<>();
    /** The same domains by backend, in ID order, so a leaving backend finds its own. */
    private final Map<BackendEntry, Map<Integer, DomainImpl>> domainsByBackend = new HashMap<>();
    /** Backend domain to domain, read without the mutex to name the domain a walk used. */
    final Map<BackendDomain, DomainImpl> byHw = new ConcurrentHashMap<>();
    /**
     * Attached PASID to the groups it is attached in, by group ID (BIND/UNBIND, S6), so that
     * freeing one visits those groups rather than all. Concurrent so the FREE listener can skip
     * the mutex for the many IDs that were never attached; the arrays are never changed.
     */
    final Map<IoasidHandle, GroupImpl[]> bound = new ConcurrentHashMap<>();
    final Map<ProcessAddressSpace, MmState> mms = new IdentityHashMap<>();
    final Set<SvaHandleImpl> svaHandles = new LinkedHashSet<>();
    final Set<PrivatePasidImpl> privatePasids = new LinkedHashSet<>();
    final Set<IoasidHandle> globalPasids = new LinkedHashSet<>();
    final Map<Integer, ViommuImpl> viommus = new LinkedHashMap<>();
    /** The faults of every instance name ever bound, kept across departures; no mutex. */
    final Map<String, BackendFaults> faults = new ConcurrentHashMap<>();
    /** The operation counts of every instance name ever bound, kept likewise. */
    final Map<String, BackendOps> ops = new ConcurrentHashMap<>();
    int nextGroupId = 1;
    int nextDomainId = 1;
    int nextViommuId = 1;
    boolean closed;

    IommuState(IoasidService ioasid, int pasidQuota) {
        this.ioasid = ioasid;
        IoasidSet set;
        try {
            set = ioasid.createSet(TokenType.NONE, null, pasidQuota, pasidSetOwner);
        } catch (IoasidException e) {
            if (e.errno() != ENOSPC) {
                throw e;
            }
            LOG.log(System.Logger.Level.WARNING, "IOMMU PASID quota " + pasidQuota
                    + " exceeds the IOASID capacity; taking what is available");
            set = ioasid.createSet(TokenType.NONE, null, 0, pasidSetOwner);
        }
        this.pasidSet = set;
    }

    /**
     * Frees the PASID set as its owner, when the core closes; PASIDs still held keep it
     * FREE_PENDING until the last one goes (rule 65), and then its quota returns (D9).
     */
    void freePasidSet() {
        try {
            ioasid.freeSet(pasidSet, pasidSetOwner);
        } catch (IoasidException e) {
            LOG.log(System.Logger.Level.WARNING, "freeing the IOMMU PASID set: " + e.getMessage());
        }
    }

    static IoasidException err(Errno errno, String message) {
        return new IoasidException(errno, message);
    }

    void lock() {
        mutex.lock();
    }

    /** Runs the work queued under the mutex after releasing it. */
    void unlock() {
        mutex.unlock();
        if (!mutex.isHeldByCurrentThread()) {
            actions.run();
        }
    }

    /** Records an attachment of the PASID in the group; true for its first one (BIND). */
    boolean bind(IoasidHandle pasid, GroupImpl g) {
        GroupImpl[] was = bound.get(pasid);
        if (was == null) {
            bound.put(pasid, new GroupImpl[] {g});
            return true;
        }
        GroupImpl[] now = Arrays.copyOf(was, was.length + 1);
        int i = now.length - 1;
        for (; i > 0 && now[i - 1].id > g.id; i--) {
            now[i] = now[i - 1];
        }
        now[i] = g;
        bound.put(pasid, now);
        return false;
    }

    /** Forgets an attachment of the PASID in the group; true when none is left (UNBIND). */
    boolean unbind(IoasidHandle pasid, GroupImpl g) {
        GroupImpl[] was = bound.get(pasid);
        if (was == null || was.length == 1 && was[0] == g) {
            bound.remove(pasid);
            return true;
        }
        int at = Arrays.asList(was).indexOf(g);
        if (at >= 0) {
            GroupImpl[] now = new GroupImpl[was.length - 1];
            System.arraycopy(was, 0, now, 0, at);
            System.arraycopy(was, at + 1, now, at, now.length - at);
            bound.put(pasid, now);
        }
        return false;
    }

    /** The groups the PASID is attached in, in group order; empty when it is not attached. */
    GroupImpl[] boundGroups(IoasidHandle pasid) {
        GroupImpl[] in = bound.get(pasid);
        return in == null ? new GroupImpl[0] : in;
    }

    List<String> deviceNames(GroupImpl g) {
        lock();
        try {
            List<String> out = new ArrayList<>();
            for (DeviceEntry d : g.devices) {
                out.add(d.name);
            }
            return out;
        } finally {
            unlock();
        }
    }

    DeviceEntry device(String name) {
        DeviceEntry d = name == null ? null : devices.get(name);
        if (d == null) {
            throw err(ENODEV, "no device " + name);
        }
        return d;
    }

    /** A device with a backend serving it. */
    DeviceEntry presentDevice(String name) {
        DeviceEntry d = device(name);
        if (d.backend == null || d.group == null) {
            throw err(ENODEV, "device " + name + " has no IOMMU right now (its backend left)");
        }
        return d;
    }

    GroupImpl own(IommuGroup group) {
        if (group instanceof GroupImpl g && g.owner == this && groups.get(g.id) == g) {
            return g;
        }
        throw err(EINVAL, group + " is not a group of this IOMMU core");
    }

    DomainImpl own(IommuDomain domain) {
        if (domain instanceof DomainImpl d && d.owner == this) {
            return d;
        }
        throw err(EINVAL, domain + " is not a domain of this IOMMU core");
    }

    /** D20: a domain its caller freed is a destroyed object (ENOENT); one whose backend left ENODEV. */
    static void checkLive(DomainImpl d) {
        if (!d.live) {
            throw gone(d);
        }
    }

    static IoasidException gone(DomainImpl d) {
        return d.freed ? err(ENOENT, d + " was freed")
                : err(ENODEV, d + " is gone with its backend");
    }

    GroupImpl liveGroup(IommuGroup group) {
        GroupImpl g = own(group);
        if (g.blocked) {
            throw err(ENODEV, g + " has no IOMMU right now (its backend left)");
        }
        return g;
    }

    DomainImpl newDomain(BackendEntry be, BackendDomain hw, DomainType type,
            DomainImpl.Role role, boolean nestingParent) {
        if (hw == null) {
            throw be.faults.passed(err(Errno.EIO, be + " returned no domain"));
        }
        DomainImpl d = new DomainImpl(this, nextDomainId++, be, role, type, nestingParent, hw);
        domains.put(d.id, d);
        domainsByBackend.computeIfAbsent(be, k -> new LinkedHashMap<>()).put(d.id, d);
        byHw.put(hw, d);
        return d;
    }

    /** Forgets a domain in the registry; it is no longer listed or found. */
    void forget(DomainImpl d) {
        domains.remove(d.id);
        Map<Integer, DomainImpl> own = domainsByBackend.get(d.backend);
        if (own != null && own.remove(d.id) != null && own.isEmpty()) {
            domainsByBackend.remove(d.backend);
        }
    }

    /** The backend's domains in ID order, a copy. */
    List<DomainImpl> domainsOf(BackendEntry be) {
        Map<Integer, DomainImpl> own = domainsByBackend.get(be);
        return own == null ? List.of() : new ArrayList<>(own.values());
    }

    /** Releases a domain's hardware; the domain must be unused. */
    void freeHw(DomainImpl d) {
        BackendDomain hw = d.hw;
        Lock w = d.backend.dataPath.writeLock();
        w.lock();
        try {
            d.live = false;
            d.hw = null;
        } finally {
            w.unlock();
        }
        forget(d);
        if (hw != null) {
            byHw.remove(hw);
            try {
                hw.free();
            } catch (RuntimeException e) {
                d.backend.faults.driver();
                LOG.log(System.Logger.Level.WARNING, d + " failed to free: " + e.getMessage());
            }
        }
    }

    /** Frees an IOASID; run after the mutex (it sends FREE). */
    void freeQuietly(IoasidHandle pasid) {
        try {
            ioasid.free(pasid);
        } catch (IoasidException e) {
            if (e.errno() != ENOENT) {
                LOG.log(System.Logger.Level.WARNING, "freeing PASID " + pasid.id() + ": " + e);
            }
        }
    }
}
