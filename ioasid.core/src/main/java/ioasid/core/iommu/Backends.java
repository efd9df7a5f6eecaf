package ioasid.core.iommu;

import static ioasid.api.Errno.EINVAL;
import static ioasid.core.iommu.IommuState.err;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.Lock;

import org.osgi.framework.Constants;

import ioasid.api.IoasidTopics;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.core.impl.EventAdminPoster;

/*
 * Backends arriving, changing and leaving, and the devices they bring (the kernel's
 * iommu_device_register, probe and release). When hardware goes, this is the one class that
 * tears down across concerns, in this order: for a device, its vDevice, PASIDs and group; for a
 * group, its PASIDs, vDevices and domains; for a domain, its vIOMMUs, PASIDs, SVA binds and
 * private PASIDs.
 *
 * Rules:
 *  1. A backend brings devices; its devices with one group key form a group. A device is served
 *     by one backend: a device another backend serves, or one listed twice, is rejected (D16).
 *  2. A device no longer listed, or listed in another group, leaves its group with its PASIDs
 *     and its vDevice (rule 94); a new or returning group is set up (rules 41, 55).
 *  3. A backend that leaves takes nothing with it: its groups are blocked, PASIDs detached with
 *     UNBIND, its domains, handles and vIOMMUs dead, and no reference to its objects is kept
 *     (D17). Its devices wait and are probed again when a backend serves them. The leaving
 *     backend is not called, and no page-table call or probe is inside it once it is gone.
 */
final class Backends {
    private static final System.Logger LOG = System.getLogger("ioasid.iommu");

    private final IommuState state;
    private final Groups groups;
    private final Pasids pasids;
    private final Sva sva;
    private final PrivatePasids privatePasids;
    private final Viommus viommus;
    /** Posts to Event Admin while one is bound; null otherwise. */
    volatile EventAdminPoster monitor;

    Backends(IommuState state, Groups groups, Pasids pasids, Sva sva,
            PrivatePasids privatePasids, Viommus viommus) {
        this.state = state;
        this.groups = groups;
        this.pasids = pasids;
        this.sva = sva;
        this.privatePasids = privatePasids;
        this.viommus = viommus;
    }

    /**
     * A backend service arrives: its devices are probed into groups. One that reports a failure
     * (its configuration was refused) is listed and not probed until it serves.
     */
    void bind(IommuBackend backend, Map<String, Object> props) {
        long sid = serviceId(props);
        String failure = failureOf(backend, sid);
        IommuCaps caps = null;
        if (failure == null) {
            caps = capsOf(backend, sid);
            if (caps == null) {
                return;
            }
        }
        Object v = props.get(IommuBackend.VENDOR);
        String vendor = caps != null ? caps.vendor() : v != null ? v.toString() : "unknown";
        Object n = props.get(IommuBackend.NAME);
        String name = n != null ? n.toString() : vendor + "-" + sid;
        state.lock();
        try {
            if (state.closed || state.backends.containsKey(sid)) {
                return;
            }
            BackendEntry other = state.backendsByName.get(name);
            if (other != null) {
                LOG.log(System.Logger.Level.ERROR, "IOMMU backend name " + name
                        + " is taken by " + other + "; service " + sid + " ignored");
                return;
            }
            BackendEntry be = new BackendEntry(sid, name, vendor, backend, caps,
                    state.faults.computeIfAbsent(name, k -> new BackendFaults()),
                    state.ops.computeIfAbsent(name, k -> new BackendOps()));
            be.failure = failure;
            state.backends.put(sid, be);
            state.backendsByName.put(name, be);
            probe(be);
            notice(IoasidTopics.BACKEND_ADDED, be, "devices",
                    be.devices.keySet().toArray(new String[0]));
        } finally {
            state.unlock();
        }
    }

    /**
     * A backend's service properties changed: its device list is probed again. A FAILED one
     * whose configuration was mended serves from now on.
     */
    void updated(Map<String, Object> props) {
        long sid = serviceId(props);
        BackendEntry known;
        state.lock();
        try {
            known = state.backends.get(sid);
        } finally {
            state.unlock();
        }
        if (known == null) {
            return;
        }
        IommuBackend backend = known.backend;
        String failure = backend == null ? null : failureOf(backend, sid);
        IommuCaps caps = known.caps == null && backend != null && failure == null
                ? capsOf(backend, sid) : known.caps;
        state.lock();
        try {
            BackendEntry be = state.backends.get(sid);
            if (be == known) {
                be.failure = caps == null ? failure != null ? failure
                        : "its capabilities could not be read" : failure;
                be.caps = caps;
                probe(be); // its device list may have changed
                notice(IoasidTopics.BACKEND_MODIFIED, be, "devices",
                        be.devices.keySet().toArray(new String[0]));
            }
        } finally {
            state.unlock();
        }
    }

    /** caps(), or null after logging why the service is ignored. Called without the mutex. */
    private static IommuCaps capsOf(IommuBackend backend, long sid) {
        try {
            return backend.caps();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "IOMMU backend service " + sid
                    + " failed to report its capabilities; ignored", e);
            return null;
        }
    }

    private static String failureOf(IommuBackend backend, long sid) {
        try {
            return backend.failure();
        } catch (RuntimeException e) {
            return "service " + sid + " could not say whether it serves: " + e;
        }
    }

    /** A backend service leaves, taking nothing with it (D17). */
    void unbind(Map<String, Object> props) {
        long sid = serviceId(props);
        state.lock();
        try {
            BackendEntry be = state.backends.remove(sid);
            if (be == null) {
                return;
            }
            state.backendsByName.remove(be.name, be);
            Lock w = be.dataPath.writeLock();
            w.lock(); // no translation or page-table call is inside the backend after this
            try {
                be.gone = true;
                // its own groups and domains, found through its devices and the registry: the
                // cost of a departure does not grow with the number of other instances
                int blocked = 0;
                for (GroupImpl g : groupsOf(be)) {
                    evict(g);
                    blocked++;
                }
                notice(IoasidTopics.BACKEND_REMOVED, be, "groups", blocked);
                be.devices.clear();
                for (DomainImpl dom : state.domainsOf(be)) {
                    kill(dom);
                }
                be.backend = null;
            } finally {
                w.unlock();
            }
            LOG.log(System.Logger.Level.INFO, "IOMMU backend " + be + " left; its groups are "
                    + "blocked until a backend serves their devices again");
        } finally {
            state.unlock();
        }
    }

    /**
     * The live groups of a backend, in group order: those of its devices (a live group has at
     * least one device, and all its devices are the backend's).
     */
    private static List<GroupImpl> groupsOf(BackendEntry be) {
        Map<Integer, GroupImpl> own = new TreeMap<>();
        for (DeviceEntry d : be.devices.values()) {
            GroupImpl g = d.group;
            if (g != null && !g.blocked && g.backendName.equals(be.name)) {
                own.put(g.id, g);
            }
        }
        return new ArrayList<>(own.values());
    }

    /**
     * D17: a group whose backend left. Its PASIDs are detached (UNBIND), its vDevices destroyed,
     * its domains forgotten; it keeps its devices and owner and waits, blocked, for a backend.
     * The backend is not called.
     */
    private void evict(GroupImpl g) {
        pasids.dropAttaches(new ArrayList<>(g.pasids.values()));
        for (DeviceEntry d : g.devices) {
            if (d.vdevice != null) {
                viommus.tombstone(d.vdevice, false);
            }
            d.backend = null;
        }
        g.blocked = true;
        groups.unhookDomains(g);
    }

    /**
     * A domain whose backend left: dead, its handles and vIOMMUs with it; the backend not called.
     */
    private void kill(DomainImpl d) {
        viommus.parentGone(d);
        pasids.dropAttaches(new ArrayList<>(d.pasids));
        sva.domainGone(d);
        privatePasids.domainGone(d);
        d.groups.clear();
        d.viommus = 0;
        d.live = false;
        BackendDomain hw = d.hw;
        d.hw = null;
        state.forget(d);
        if (hw != null) {
            state.byHw.remove(hw);
        }
    }

    /** Reads the backend's devices and brings groups and domains in line (rules 41, 55). */
    private void probe(BackendEntry be) {
        try {
            be.refused = be.backend.refusedChange();
        } catch (RuntimeException e) {
            be.faults.driver();
            be.refused = null;
        }
        List<DeviceInfo> infos;
        try {
            infos = be.failure != null ? List.of() : List.copyOf(be.backend.devices());
        } catch (RuntimeException e) {
            be.faults.driver();
            LOG.log(System.Logger.Level.ERROR, "IOMMU backend " + be + " failed to list devices",
                    e);
            infos = List.of();
        }
        be.rejected.clear();
        Map<String, DeviceInfo> wanted = new LinkedHashMap<>();
        for (DeviceInfo info : infos) {
            DeviceEntry known = state.devices.get(info.name());
            BackendEntry servedBy = known == null ? null : known.backend;
            if ((servedBy != null && servedBy != be) || wanted.containsKey(info.name())) {
                be.rejected.add(info.name()); // D16: one backend per device
                continue;
            }
            wanted.put(info.name(), info);
        }
        // 1. devices no longer listed, or listed in another group, leave (remove_iommu_group)
        for (DeviceEntry d : new ArrayList<>(be.devices.values())) {
            DeviceInfo now = wanted.get(d.name);
            if (now == null || !now.groupKey().equals(d.info.groupKey())) {
                removeDevice(d);
            } else {
                d.info = now;
                d.maxPasids = maxPasids(be.caps, now);
            }
        }
        // 2. new and returning devices join their groups
        Set<GroupImpl> fresh = new LinkedHashSet<>();
        Map<GroupImpl, List<DeviceEntry>> joined = new LinkedHashMap<>();
        for (DeviceInfo info : wanted.values()) {
            if (be.devices.containsKey(info.name())) {
                continue;
            }
            DeviceEntry d = state.devices.computeIfAbsent(info.name(), DeviceEntry::new);
            String key = be.name + '\0' + info.groupKey();
            GroupImpl g = state.groupsByKey.get(key);
            if (g == null) {
                g = new GroupImpl(state, state.nextGroupId++, be.name, info.groupKey());
                state.groupsByKey.put(key, g);
                state.groups.put(g.id, g);
                fresh.add(g);
            }
            if (d.group != null && d.group != g) {
                groups.leave(d.group, d);
            }
            if (!g.devices.contains(d)) {
                g.devices.add(d);
            }
            d.group = g;
            d.info = info;
            d.maxPasids = maxPasids(be.caps, info);
            d.backend = be;
            be.devices.put(d.name, d);
            joined.computeIfAbsent(g, k -> new ArrayList<>()).add(d);
        }
        // 3. groups set up (new or returning), or new devices put on their group's domain
        for (Map.Entry<GroupImpl, List<DeviceEntry>> e : joined.entrySet()) {
            GroupImpl g = e.getKey();
            if (fresh.contains(g) || g.blocked) {
                g.devices.removeIf(d -> d.backend != be); // away devices not listed are gone
                groups.setUp(be, g);
            } else {
                for (DeviceEntry d : e.getValue()) {
                    groups.attachJoiner(be, g, d);
                }
            }
        }
    }

    private static int maxPasids(IommuCaps caps, DeviceInfo info) {
        int dev = info.pasidBits() == 0 ? 0 : 1 << info.pasidBits();
        return Math.min(dev, caps.maxPasids());
    }

    /** A device its live backend no longer lists: out of its PASIDs, vDevice and group. */
    private void removeDevice(DeviceEntry d) {
        BackendEntry be = d.backend;
        GroupImpl g = d.group;
        if (d.vdevice != null) {
            viommus.tombstone(d.vdevice, true); // clean-up from device unbind (rule 94, D22)
        }
        for (PasidAttach pa : new ArrayList<>(g.pasids.values())) {
            try {
                be.backend.removeDevPasid(d.name, pa.pasid, pa.domain.hw);
            } catch (RuntimeException e) {
                be.faults.driver();
                LOG.log(System.Logger.Level.WARNING, "removing PASID " + pa.pasid + " of "
                        + d.name + " failed: " + e.getMessage());
            }
            if (g.devices.size() == 1) {
                pasids.dropAttach(pa);
            }
        }
        groups.leave(g, d);
        be.devices.remove(d.name);
        state.devices.remove(d.name);
        d.backend = null;
        d.group = null;
    }

    /** Queues a backend change for Event Admin, posted after the mutex like all outside calls. */
    private void notice(String topic, BackendEntry be, String key, Object value) {
        EventAdminPoster m = monitor;
        if (m == null) {
            return;
        }
        Map<String, Object> props = new LinkedHashMap<>();
        props.put("backend", be.name);
        props.put("vendor", be.vendor);
        props.put(key, value);
        state.actions.add(() -> m.post(topic, props));
    }

    private static long serviceId(Map<String, ?> props) {
        if (props.get(Constants.SERVICE_ID) instanceof Long l) {
            return l;
        }
        throw err(EINVAL, "backend service without " + Constants.SERVICE_ID);
    }
}
