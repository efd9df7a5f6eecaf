package ioasid.core.iommu;

import static ioasid.core.iommu.IommuState.checkLive;
import static ioasid.core.iommu.IommuState.err;
import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.api.Errno.EOVERFLOW;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.Lock;

import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
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
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.IoasidTopics;
import ioasid.api.TokenType;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuGroup;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.PrivatePasid;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.SvaHandle;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.Vdevice;
import ioasid.api.iommu.Viommu;
import ioasid.api.iommu.dto.BackendDTO;
import ioasid.api.iommu.dto.DeviceDTO;
import ioasid.api.iommu.dto.DomainDTO;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.iommu.dto.PasidDTO;
import ioasid.api.iommu.dto.ViommuDTO;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;
import ioasid.core.impl.EventAdminPoster;

/*
 * The IOMMU core, over backend services that model the hardware.
 *
 * Rules:
 *  1. A backend brings devices; its devices with one group key form a group. A group starts on a
 *     default domain of the platform's type (rule 41), on the blocking domain if it is owned
 *     (rule 55), or on no domain when the driver has no default domains.
 *  2. A group switches domains device by device; a failure puts the switched ones back, so DMA
 *     reaches only the old or the new domain, never anything else (rule 44, D18).
 *  3. One caller domain at a time; detaching returns to the blocking domain when owned, else to
 *     the default (rules 45-48). Claiming ownership moves the group to a blocking domain made on
 *     first use, or to an empty unmanaged one where BLOCKED is not supported (rule 49).
 *  4. PASIDs come from the IOASID service. An attached PASID holds a reference; BIND goes out at
 *     its first attachment and UNBIND after its last (S6). A PASID freed while attached is
 *     detached everywhere by this core's FREE listener.
 *  5. A domain is freed only when nothing uses it, so no backend keeps a freed one (known bug 1).
 *  6. A backend that leaves takes nothing with it: its groups are blocked, PASIDs detached with
 *     UNBIND, its domains, handles and vIOMMUs dead, and no reference to its objects is kept
 *     (D17). Its devices wait and are probed again when a backend serves them.
 *  7. Configuration happens under one mutex, which is held across backend calls. IOASID calls
 *     that send events run after it, in order. Page-table calls and translation probes take no
 *     mutex, only a read lock that keeps a dying backend's objects out of reach.
 */
@Component(service = {IommuService.class, IoasidListener.class}, immediate = true,
        configurationPid = IommuCore.PID,
        property = {Constants.SERVICE_RANKING + ":Integer=" + IoasidListener.PRIORITY_IOMMU,
            IoasidListener.EVENTS + "=FREE", IoasidListener.NAME + "=iommu-core"})
@Designate(ocd = IommuCore.Config.class)
public final class IommuCore implements IommuService, IoasidListener {
    public static final String PID = "ioasid.iommu";

    @ObjectClassDefinition(name = "IOMMU core", description = "Groups, domains and PASIDs over "
            + "the IOMMU backends")
    public @interface Config {
        @AttributeDefinition(name = "Default domain",
                description = "The default domain type (rule 41): auto is DMA with a flush queue",
                options = {@Option(label = "auto (DMA-FQ)", value = "auto"),
                    @Option(label = "strict (DMA)", value = "strict"),
                    @Option(label = "passthrough (identity)", value = "passthrough")})
        String default_domain() default "auto";

        @AttributeDefinition(name = "Memory encryption",
                description = "Memory encryption is active: passthrough is forced off (rule 41)")
        boolean memory_encryption() default false;

        @AttributeDefinition(name = "PASID quota",
                description = "IOASIDs this core may hold for global and private PASIDs",
                min = "1")
        int pasid_quota() default 0x10000;
    }

    private static final System.Logger LOG = System.getLogger("ioasid.iommu");

    private final DomainType platformDefault;
    private final IommuState state;
    private final Map<Long, BackendEntry> backends;
    private final Map<String, DeviceEntry> devices;
    private final Map<String, GroupImpl> groupsByKey;
    private final Map<Integer, GroupImpl> groups;
    private final Map<Integer, DomainImpl> domains;
    private final Map<BackendDomain, DomainImpl> byHw;
    private final Map<IoasidHandle, Integer> bound;
    private final Map<ProcessAddressSpace, MmState> mms;
    private final Set<SvaHandleImpl> svaHandles;
    private final Set<PrivatePasidImpl> privatePasids;
    private final Set<IoasidHandle> globalPasids;
    private final DomainSwitch domainSwitch;
    private final Groups groupsAndDomains;
    private final DmaOwnership ownership;
    private final DataPath dataPath;
    private final Viommus viommus;
    private final Snapshots snapshots;
    private final OrderedActions actions;
    private final IoasidService ioasid;
    private final IoasidSet pasidSet;
    /** Posts to Event Admin while one is bound; null otherwise. */
    private volatile EventAdminPoster monitor;

    @Activate
    public IommuCore(@Reference(name = "ioasid", target = "(!(ioasid.role=host))")
            IoasidService ioasid, Config config) {
        this(ioasid, platformDefault(config.default_domain(), config.memory_encryption()),
                config.pasid_quota());
    }

    public IommuCore(IoasidService ioasid, DomainType platformDefault, int pasidQuota) {
        if (ioasid == null || platformDefault == null || pasidQuota < 1) {
            throw new IoasidException(EINVAL, "IOMMU core needs an IOASID service, a default "
                    + "domain type and a positive PASID quota");
        }
        this.platformDefault = platformDefault;
        this.state = new IommuState(ioasid, pasidQuota);
        this.ioasid = ioasid;
        this.pasidSet = state.pasidSet;
        this.actions = state.actions;
        this.backends = state.backends;
        this.devices = state.devices;
        this.groupsByKey = state.groupsByKey;
        this.groups = state.groups;
        this.domains = state.domains;
        this.byHw = state.byHw;
        this.bound = state.bound;
        this.mms = state.mms;
        this.svaHandles = state.svaHandles;
        this.privatePasids = state.privatePasids;
        this.globalPasids = state.globalPasids;
        this.domainSwitch = new DomainSwitch(state);
        this.groupsAndDomains = new Groups(state, domainSwitch, platformDefault);
        this.ownership = new DmaOwnership(state, domainSwitch);
        this.dataPath = new DataPath(state);
        this.viommus = new Viommus(state);
        this.snapshots = new Snapshots(state);
    }

    /** Rule 41: DMA_FQ unless strict or passthrough; memory encryption forces passthrough off. */
    static DomainType platformDefault(String mode, boolean memoryEncryption) {
        switch (mode == null ? "auto" : mode) {
            case "auto":
                return DomainType.DMA_FQ;
            case "strict":
                return DomainType.DMA;
            case "passthrough":
                if (memoryEncryption) {
                    LOG.log(System.Logger.Level.WARNING,
                            "memory encryption active: passthrough forced off");
                    return DomainType.DMA_FQ;
                }
                return DomainType.IDENTITY;
            default:
                throw new IoasidException(EINVAL, "default domain '" + mode
                        + "' is not auto, strict or passthrough");
        }
    }

    @Deactivate
    public void close() {
        List<BackendEntry> all;
        state.lock();
        try {
            state.closed = true;
            all = new ArrayList<>(backends.values());
        } finally {
            state.unlock();
        }
        for (BackendEntry be : all) {
            unbindBackend(be.backend, Map.of(Constants.SERVICE_ID, be.serviceId));
        }
    }

    // ------------------------------------------------------------------ Event Admin (optional)

    /** Event Admin, typed as Object so the core needs its classes only when one is bound. */
    @Reference(service = org.osgi.service.event.EventAdmin.class, name = "eventAdmin",
            cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    public void bindEventAdmin(Object eventAdmin) {
        monitor = new EventAdminPoster(eventAdmin);
    }

    public void unbindEventAdmin(Object eventAdmin) {
        monitor = null;
    }

    /** Queues a backend change for Event Admin, posted after the mutex like all outside calls. */
    private void notice(String topic, BackendEntry be, String key, Object value) {
        EventAdminPoster m = monitor;
        if (m == null) {
            return;
        }
        Map<String, Object> props = new LinkedHashMap<>();
        props.put("backend", be.name);
        props.put("vendor", be.caps.vendor());
        props.put(key, value);
        actions.add(() -> m.post(topic, props));
    }

    // ------------------------------------------------------------------ backends (D16, D17)

    private static long serviceId(Map<String, ?> props) {
        if (props.get(Constants.SERVICE_ID) instanceof Long l) {
            return l;
        }
        throw err(EINVAL, "backend service without " + Constants.SERVICE_ID);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    public void bindBackend(IommuBackend backend, Map<String, Object> props) {
        long sid = serviceId(props);
        IommuCaps caps;
        try {
            caps = backend.caps();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "IOMMU backend service " + sid
                    + " failed to report its capabilities; ignored", e);
            return;
        }
        Object n = props.get(IommuBackend.NAME);
        String name = n != null ? n.toString() : caps.vendor() + "-" + sid;
        state.lock();
        try {
            if (state.closed || backends.containsKey(sid)) {
                return;
            }
            for (BackendEntry other : backends.values()) {
                if (other.name.equals(name)) {
                    LOG.log(System.Logger.Level.ERROR, "IOMMU backend name " + name
                            + " is taken by " + other + "; service " + sid + " ignored");
                    return;
                }
            }
            BackendEntry be = new BackendEntry(sid, name, backend, caps);
            backends.put(sid, be);
            probe(be);
            notice(IoasidTopics.BACKEND_ADDED, be, "devices",
                    be.devices.keySet().toArray(new String[0]));
        } finally {
            state.unlock();
        }
    }

    public void updatedBackend(IommuBackend backend, Map<String, Object> props) {
        long sid = serviceId(props);
        state.lock();
        try {
            BackendEntry be = backends.get(sid);
            if (be != null) {
                probe(be); // its device list may have changed
                notice(IoasidTopics.BACKEND_MODIFIED, be, "devices",
                        be.devices.keySet().toArray(new String[0]));
            }
        } finally {
            state.unlock();
        }
    }

    public void unbindBackend(IommuBackend backend, Map<String, Object> props) {
        long sid = serviceId(props);
        state.lock();
        try {
            BackendEntry be = backends.remove(sid);
            if (be == null) {
                return;
            }
            Lock w = be.dataPath.writeLock();
            w.lock(); // no translation or page-table call is inside the backend after this
            try {
                be.gone = true;
                int blocked = 0;
                for (GroupImpl g : new ArrayList<>(groups.values())) {
                    if (!g.blocked && g.backendName.equals(be.name)) {
                        evict(g);
                        blocked++;
                    }
                }
                notice(IoasidTopics.BACKEND_REMOVED, be, "groups", blocked);
                be.devices.clear();
                for (DomainImpl dom : new ArrayList<>(domains.values())) {
                    if (dom.backend == be) {
                        kill(dom);
                    }
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
     * D17: a group whose backend left. Its PASIDs are detached (UNBIND), its vDevices destroyed,
     * its domains forgotten; it keeps its devices and owner and waits, blocked, for a backend.
     * The backend is not called.
     */
    private void evict(GroupImpl g) {
        for (PasidAttach pa : new ArrayList<>(g.pasids.values())) {
            dropAttach(pa);
        }
        for (DeviceEntry d : g.devices) {
            if (d.vdevice != null) {
                viommus.destroyVdevice(d.vdevice, false);
            }
            d.backend = null;
        }
        g.blocked = true;
        groupsAndDomains.unhookDomains(g);
    }

    /** Reads the backend's devices and brings groups and domains in line (rules 41, 55). */
    private void probe(BackendEntry be) {
        List<DeviceInfo> infos;
        try {
            infos = List.copyOf(be.backend.devices());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "IOMMU backend " + be + " failed to list devices", e);
            infos = List.of();
        }
        be.rejected.clear();
        Map<String, DeviceInfo> wanted = new LinkedHashMap<>();
        for (DeviceInfo info : infos) {
            DeviceEntry known = devices.get(info.name());
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
            DeviceEntry d = devices.computeIfAbsent(info.name(), DeviceEntry::new);
            String key = be.name + '\0' + info.groupKey();
            GroupImpl g = groupsByKey.get(key);
            if (g == null) {
                g = new GroupImpl(state, state.nextGroupId++, be.name, info.groupKey());
                groupsByKey.put(key, g);
                groups.put(g.id, g);
                fresh.add(g);
            }
            if (d.group != null && d.group != g) {
                groupsAndDomains.leave(d.group, d);
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
                groupsAndDomains.setUp(be, g);
            } else {
                for (DeviceEntry d : e.getValue()) {
                    groupsAndDomains.attachJoiner(be, g, d);
                }
            }
        }
    }

    static int maxPasids(IommuCaps caps, DeviceInfo info) {
        int dev = info.pasidBits() == 0 ? 0 : 1 << info.pasidBits();
        return Math.min(dev, caps.maxPasids());
    }

    /** A device its live backend no longer lists: out of its PASIDs, vDevice and group. */
    private void removeDevice(DeviceEntry d) {
        BackendEntry be = d.backend;
        GroupImpl g = d.group;
        if (d.vdevice != null) {
            viommus.destroyVdevice(d.vdevice, true); // clean-up from device unbind (rule 94)
        }
        for (PasidAttach pa : new ArrayList<>(g.pasids.values())) {
            try {
                be.backend.removeDevPasid(d.name, pa.pasid, pa.domain.hw);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "removing PASID " + pa.pasid + " of "
                        + d.name + " failed: " + e.getMessage());
            }
            if (g.devices.size() == 1) {
                dropAttach(pa);
            }
        }
        groupsAndDomains.leave(g, d);
        be.devices.remove(d.name);
        devices.remove(d.name);
        d.backend = null;
        d.group = null;
    }

    // ------------------------------------------------------------------ domain switching (rule 44)

    /** A domain whose backend left: dead, its handles and vIOMMUs with it; the backend not called. */
    private void kill(DomainImpl d) {
        viommus.parentGone(d);
        for (PasidAttach pa : new ArrayList<>(d.pasids)) {
            dropAttach(pa);
        }
        for (SvaHandleImpl h : new ArrayList<>(svaHandles)) {
            if (h.domain == d) {
                h.live = false;
                svaHandles.remove(h);
                MmState mm = mms.get(h.mm);
                if (mm != null) {
                    mm.domains.remove(d);
                    mm.binds--;
                }
            }
        }
        for (PrivatePasidImpl p : new ArrayList<>(privatePasids)) {
            if (p.domain == d) {
                p.live = false;
                privatePasids.remove(p);
                IoasidHandle pasid = p.pasid;
                actions.add(() -> state.freeQuietly(pasid));
            }
        }
        d.groups.clear();
        d.viommus = 0;
        d.live = false;
        BackendDomain hw = d.hw;
        d.hw = null;
        domains.remove(d.id);
        if (hw != null) {
            byHw.remove(hw);
        }
    }

    // ------------------------------------------------------------------ groups and domains API

    @Override
    public IommuGroup group(String device) {
        return groupsAndDomains.group(device);
    }

    @Override
    public IommuGroup group(int groupId) {
        return groupsAndDomains.group(groupId);
    }

    @Override
    public IommuDomain domain(int domainId) {
        return groupsAndDomains.domain(domainId);
    }

    @Override
    public IommuDomain domainAlloc(String device, boolean nestingParent) {
        return groupsAndDomains.domainAlloc(device, nestingParent);
    }

    @Override
    public void domainFree(IommuDomain domain) {
        groupsAndDomains.domainFree(domain);
    }

    @Override
    public void attachGroup(IommuDomain domain, IommuGroup group) {
        groupsAndDomains.attachGroup(domain, group);
    }

    @Override
    public void detachGroup(IommuDomain domain, IommuGroup group) {
        groupsAndDomains.detachGroup(domain, group);
    }

    @Override
    public void attachDevice(IommuDomain domain, String device) {
        groupsAndDomains.attachDevice(domain, device);
    }

    @Override
    public void detachDevice(IommuDomain domain, String device) {
        groupsAndDomains.detachDevice(domain, device);
    }

    @Override
    public void setDefaultDomainType(IommuGroup group, DomainType type, boolean privileged) {
        groupsAndDomains.setDefaultDomainType(group, type, privileged);
    }

    // ------------------------------------------------------------------ DMA ownership

    @Override
    public void claimGroup(IommuGroup group, Object owner) {
        ownership.claimGroup(group, owner);
    }

    @Override
    public void releaseGroup(IommuGroup group) {
        ownership.releaseGroup(group);
    }

    @Override
    public void claimDevice(String device, Object owner) {
        ownership.claimDevice(device, owner);
    }

    @Override
    public void releaseDevice(String device) {
        ownership.releaseDevice(device);
    }

    @Override
    public void useDefaultDomain(String device) {
        ownership.useDefaultDomain(device);
    }

    @Override
    public void unuseDefaultDomain(String device) {
        ownership.unuseDefaultDomain(device);
    }

    @Override
    public boolean dmaOwnerClaimed(IommuGroup group) {
        return ownership.dmaOwnerClaimed(group);
    }

    // ------------------------------------------------------------------ PASIDs (rules 33-39)

    @Override
    public int maxPasids(String device) {
        state.lock();
        try {
            return state.presentDevice(device).maxPasids;
        } finally {
            state.unlock();
        }
    }

    @Override
    public IoasidHandle allocGlobalPasid(String device) {
        int max;
        state.lock();
        try {
            max = state.presentDevice(device).maxPasids;
        } finally {
            state.unlock();
        }
        if (max == 0) {
            throw err(EINVAL, "device " + device + " does not support PASID");
        }
        // rule 34, known bug 9: the inclusive range ends at max_pasids - 1
        IoasidHandle h = ioasid.alloc(pasidSet, 1, max - 1, device);
        state.lock();
        try {
            globalPasids.add(h);
        } finally {
            state.unlock();
        }
        return h;
    }

    @Override
    public void freeGlobalPasid(IoasidHandle pasid) {
        state.lock();
        try {
            if (pasid == null || !globalPasids.remove(pasid)) {
                throw err(EINVAL, "PASID " + (pasid == null ? null : pasid.id())
                        + " was not allocated by allocGlobalPasid, or was freed");
            }
            detachEverywhere(pasid);
            actions.add(() -> state.freeQuietly(pasid));
        } finally {
            state.unlock();
        }
    }

    @Override
    public void attachDevicePasid(IommuDomain domain, String device, IoasidHandle pasid) {
        state.lock();
        try {
            DomainImpl d = state.own(domain);
            checkLive(d);
            if (d.type == DomainType.BLOCKED) {
                throw err(EOPNOTSUPP, d + " cannot be attached per PASID");
            }
            if (d.role != DomainImpl.Role.CALLER && d.role != DomainImpl.Role.DEFAULT) {
                throw err(EINVAL, d + " is managed by an SVA bind or a private PASID");
            }
            DeviceEntry dev = state.presentDevice(device);
            checkPasidFits(d, dev, pasid);
            attachPasid(dev.group, d, pasid, PasidAttach.Kind.CALLER);
        } finally {
            state.unlock();
        }
    }

    private IoasidHandle lookup(int id) {
        try {
            return ioasid.find(null, id);
        } catch (IoasidException e) {
            return null;
        }
    }

    /** Rule 38's checks on the domain's IOMMU and the PASID's range. */
    private void checkPasidFits(DomainImpl d, DeviceEntry dev, IoasidHandle pasid) {
        if (d.backend != dev.backend) {
            throw err(EINVAL, d + " belongs to another IOMMU than " + dev.name);
        }
        if (pasid == null || pasid.state() == IoasidState.FREE) {
            throw err(EINVAL, "stale or missing PASID");
        }
        int id = pasid.id();
        if (id == Ioasid.NO_PASID) {
            throw err(EINVAL, "PASID 0 is for DMA without PASID");
        }
        for (DeviceEntry dv : dev.group.devices) {
            if (id >= dv.maxPasids) {
                throw err(EINVAL, "PASID " + id + " is past the " + dv.maxPasids + " PASIDs of "
                        + dv.name);
            }
        }
        // A handle of another IOASID space may carry an ID this group has attached: it is a bad
        // argument, not a busy PASID, so it must be refused before the group is looked at
        if (lookup(id) != pasid) {
            throw err(EINVAL, "PASID handle " + pasid + " is not of this platform's IOASID space");
        }
    }

    /**
     * Sets the PASID on every device of the group, or on none (rule 38), holding a reference on
     * the IOASID; BIND goes out with its first attachment anywhere.
     */
    private PasidAttach attachPasid(GroupImpl g, DomainImpl d, IoasidHandle pasid,
            PasidAttach.Kind kind) {
        int id = pasid.id();
        if (g.pasids.containsKey(id)) {
            throw err(EBUSY, "PASID " + id + " is attached in " + g + " already");
        }
        try {
            ioasid.get(pasid); // references are taken before any FREE can arrive (rule 87)
        } catch (IoasidException e) {
            throw err(EINVAL, "PASID " + id + " cannot be attached: " + e.getMessage());
        }
        BackendEntry be = g.devices.get(0).backend;
        List<DeviceEntry> done = new ArrayList<>();
        for (DeviceEntry dv : g.devices) {
            try {
                be.backend.setDevPasid(dv.name, id, d.hw);
                done.add(dv);
            } catch (RuntimeException e) {
                for (int i = done.size() - 1; i >= 0; i--) {
                    try {
                        be.backend.removeDevPasid(done.get(i).name, id, d.hw);
                    } catch (RuntimeException undo) {
                        LOG.log(System.Logger.Level.ERROR, "undoing PASID " + id + " on "
                                + done.get(i).name + " failed: " + undo);
                    }
                }
                actions.add(() -> putQuietly(pasid));
                throw e instanceof IoasidException ie ? ie
                        : new IoasidException(Errno.EIO, "setting PASID " + id + " on " + dv.name
                                + " failed: " + e, e);
            }
        }
        PasidAttach pa = new PasidAttach(g, pasid, d, kind);
        g.pasids.put(id, pa);
        d.pasids.add(pa);
        if (bound.merge(pasid, 1, Integer::sum) == 1) {
            actions.add(() -> notifyQuietly(pasid, EventType.BIND));
        }
        return pa;
    }

    @Override
    public void detachDevicePasid(IommuDomain domain, String device, IoasidHandle pasid) {
        state.lock();
        try {
            DomainImpl d = state.own(domain);
            DeviceEntry dev = state.presentDevice(device);
            PasidAttach pa = pasid == null ? null : dev.group.pasids.get(pasid.id());
            if (pa == null || pa.domain != d || pa.handle != pasid) {
                throw err(EINVAL, "PASID " + (pasid == null ? null : pasid.id())
                        + " of " + device + " is not attached to " + d);
            }
            if (pa.kind != PasidAttach.Kind.CALLER) {
                throw err(EINVAL, "PASID " + pa.pasid + " of " + device + " belongs to an "
                        + pa.kind.label + " handle: release that instead");
            }
            detachPasid(pa);
        } finally {
            state.unlock();
        }
    }

    /** Clears the PASID on every device of its group and drops the attachment. */
    private void detachPasid(PasidAttach pa) {
        BackendEntry be = pa.group.devices.get(0).backend;
        for (DeviceEntry dv : pa.group.devices) {
            try {
                be.backend.removeDevPasid(dv.name, pa.pasid, pa.domain.hw);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "removing PASID " + pa.pasid + " of "
                        + dv.name + " failed: " + e.getMessage());
            }
        }
        dropAttach(pa);
    }

    /** Forgets an attachment; UNBIND after the PASID's last one, and the reference goes. */
    private void dropAttach(PasidAttach pa) {
        pa.group.pasids.remove(pa.pasid);
        pa.domain.pasids.remove(pa);
        IoasidHandle h = pa.handle;
        Integer left = bound.computeIfPresent(h, (k, n) -> n == 1 ? null : n - 1);
        if (left == null) {
            actions.add(() -> notifyQuietly(h, EventType.UNBIND));
        }
        actions.add(() -> putQuietly(h));
    }

    /** Detaches a PASID wherever it is attached, ending the binds and handles that used it. */
    private void detachEverywhere(IoasidHandle pasid) {
        for (GroupImpl g : new ArrayList<>(groups.values())) {
            PasidAttach pa = g.pasids.get(pasid.id());
            if (pa == null || pa.handle != pasid) {
                continue;
            }
            detachPasid(pa);
            for (SvaHandleImpl h : new ArrayList<>(svaHandles)) {
                if (h.pasid == pasid && h.device.group == g) {
                    endSva(h);
                }
            }
            for (PrivatePasidImpl p : new ArrayList<>(privatePasids)) {
                if (p.pasid == pasid) {
                    p.live = false;
                    privatePasids.remove(p);
                    state.freeHw(p.domain);
                }
            }
        }
    }

    private void putQuietly(IoasidHandle h) {
        try {
            ioasid.put(h);
        } catch (IoasidException e) {
            LOG.log(System.Logger.Level.WARNING, "dropping the IOMMU's reference on PASID "
                    + h.id() + ": " + e.getMessage());
        }
    }

    private void notifyQuietly(IoasidHandle h, EventType type) {
        try {
            ioasid.notify(h, type);
        } catch (IoasidException e) {
            if (e.errno() != ENOENT) {
                LOG.log(System.Logger.Level.WARNING, type + " for PASID " + h.id() + ": "
                        + e.getMessage());
            }
        }
    }

    /**
     * The IOASID FREE listener: a PASID freed while still attached (life cycle patterns 3 and
     * 4, S6) is detached from every device, its references dropped.
     */
    @Override
    public void onEvent(IoasidEvent event) {
        if (event.type() != EventType.FREE || !bound.containsKey(event.handle())) {
            return;
        }
        state.lock();
        try {
            if (bound.containsKey(event.handle())) {
                detachEverywhere(event.handle());
            }
        } finally {
            state.unlock();
        }
    }

    // ------------------------------------------------------------------ SVA (rules 36-37)

    @Override
    public SvaHandle svaBind(String device, ProcessAddressSpace mm) {
        if (mm == null) {
            throw err(EINVAL, "null address space");
        }
        IoasidHandle fresh = null;
        for (;;) {
            int max;
            state.lock();
            try {
                DeviceEntry dev = state.presentDevice(device);
                max = dev.maxPasids;
                if (max == 0) {
                    throw err(EOPNOTSUPP, "device " + device + " does not support PASID");
                }
                if (!mm.dmaCompatible()) {
                    throw err(EBUSY, "the IOMMU cannot walk this address space's page table");
                }
                MmState st = mms.get(mm);
                if (st != null && st.pasid != null) {
                    if (fresh != null) {
                        IoasidHandle spare = fresh; // another bind of the process won the race
                        actions.add(() -> state.freeQuietly(spare));
                        fresh = null;
                    }
                    return bindWith(dev, mm, st);
                }
                if (fresh != null) {
                    if (st == null) {
                        st = new MmState();
                        mms.put(mm, st);
                    }
                    st.set = fresh.set();
                    st.pasid = fresh;
                    fresh = null;
                    return bindWith(dev, mm, st);
                }
            } catch (RuntimeException e) {
                if (fresh != null) {
                    IoasidHandle spare = fresh;
                    actions.add(() -> state.freeQuietly(spare));
                }
                throw e;
            } finally {
                state.unlock();
            }
            fresh = allocMmPasid(mm, max);
            if (fresh == null) {
                continue; // lost a race for the process's one PASID: use the winner's
            }
        }
    }

    /** The process's PASID in its MM set (rule 63), allocated outside the mutex (it sends ALLOC). */
    private IoasidHandle allocMmPasid(ProcessAddressSpace mm, int max) {
        IoasidSet set;
        boolean created = true;
        try {
            set = ioasid.createSet(TokenType.MM, mm, 1);
        } catch (IoasidException e) {
            if (e.errno() != EEXIST) {
                throw e;
            }
            set = ioasid.findSet(TokenType.MM, mm);
            created = false;
        }
        try {
            return ioasid.alloc(set, 1, max - 1, mm); // rule 36: ENOSPC when none is left
        } catch (IoasidException e) {
            if (created && set.size() == 0) {
                ioasid.freeSet(set); // a failed first bind leaves no set behind
            }
            state.lock();
            try {
                MmState st = mms.get(mm);
                if (e.errno() == ENOSPC && st != null && st.pasid != null) {
                    return null;
                }
            } finally {
                state.unlock();
            }
            throw e;
        }
    }

    /** Rule 37: reuse one of the process's SVA domains if it attaches, else a new one. */
    private SvaHandle bindWith(DeviceEntry dev, ProcessAddressSpace mm, MmState st) {
        if (st.pasid.id() >= dev.maxPasids) {
            throw err(EOVERFLOW, "the process's PASID " + st.pasid.id() + " is past the "
                    + dev.maxPasids + " PASIDs of " + dev.name);
        }
        BackendEntry be = dev.backend;
        for (Map.Entry<DomainImpl, Integer> e : st.domains.entrySet()) {
            DomainImpl sd = e.getKey();
            if (sd.backend != be) {
                continue;
            }
            try {
                attachPasid(dev.group, sd, st.pasid, PasidAttach.Kind.SVA);
            } catch (IoasidException busy) {
                continue;
            }
            e.setValue(e.getValue() + 1);
            return newSva(dev, mm, st, sd);
        }
        DomainImpl sd = state.newDomain(be, be.backend.svaDomainAlloc(mm), DomainType.SVA,
                DomainImpl.Role.SVA, false);
        try {
            attachPasid(dev.group, sd, st.pasid, PasidAttach.Kind.SVA);
        } catch (RuntimeException e) {
            state.freeHw(sd);
            throw e;
        }
        st.domains.put(sd, 1);
        return newSva(dev, mm, st, sd);
    }

    private SvaHandle newSva(DeviceEntry dev, ProcessAddressSpace mm, MmState st, DomainImpl sd) {
        SvaHandleImpl h = new SvaHandleImpl(state, dev, mm, st.pasid, sd);
        svaHandles.add(h);
        st.binds++;
        return h;
    }

    @Override
    public void svaUnbind(SvaHandle handle) {
        state.lock();
        try {
            if (!(handle instanceof SvaHandleImpl h) || h.owner != state || !svaHandles.contains(h)) {
                throw err(EINVAL, handle + " is not a live SVA bind of this IOMMU core");
            }
            PasidAttach pa = h.device.group == null ? null : h.device.group.pasids.get(h.pasid.id());
            if (pa != null && pa.domain == h.domain) {
                detachPasid(pa);
            }
            endSva(h);
        } finally {
            state.unlock();
        }
    }

    /** Ends a bind; the SVA domain goes with its last user (rule 37). */
    private void endSva(SvaHandleImpl h) {
        h.live = false;
        svaHandles.remove(h);
        MmState st = mms.get(h.mm);
        if (st == null) {
            return;
        }
        st.binds--;
        Integer users = st.domains.get(h.domain);
        if (users != null) {
            if (users == 1) {
                st.domains.remove(h.domain);
                if (h.domain.live && !h.domain.inUse()) {
                    state.freeHw(h.domain);
                }
            } else {
                st.domains.put(h.domain, users - 1);
            }
        }
    }

    @Override
    public void mmRelease(ProcessAddressSpace mm) {
        state.lock();
        try {
            MmState st = mm == null ? null : mms.get(mm);
            if (st == null) {
                throw err(ENOENT, "no PASID for that address space");
            }
            if (st.binds > 0) {
                throw err(EBUSY, "the address space still has " + st.binds + " binds");
            }
            mms.remove(mm);
            IoasidHandle pasid = st.pasid;
            IoasidSet set = st.set;
            // rule 36: the PASID goes with the process, not with its last unbind
            actions.add(() -> {
                if (pasid != null) {
                    state.freeQuietly(pasid);
                }
                if (set != null) {
                    try {
                        ioasid.freeSet(set);
                    } catch (IoasidException e) {
                        LOG.log(System.Logger.Level.WARNING, "freeing the set of an address "
                                + "space: " + e.getMessage());
                    }
                }
            });
        } finally {
            state.unlock();
        }
    }

    // ------------------------------------------------------------------ private PASIDs (seed 002)

    @Override
    public PrivatePasid privatePasidAlloc(String device) {
        BackendEntry be;
        int max;
        state.lock();
        try {
            DeviceEntry dev = state.presentDevice(device);
            be = dev.backend;
            max = dev.maxPasids;
        } finally {
            state.unlock();
        }
        if (max == 0) {
            throw err(EINVAL, "device " + device + " does not support PASID");
        }
        IoasidHandle pasid = ioasid.alloc(pasidSet, 1, max - 1, "private:" + device);
        state.lock();
        try {
            DeviceEntry dev = devices.get(device);
            if (dev == null || dev.backend != be || dev.group == null) {
                throw err(ENODEV, "device " + device + " left during the allocation");
            }
            DomainImpl d = state.newDomain(be, be.backend.domainAlloc(DomainType.UNMANAGED, false),
                    DomainType.UNMANAGED, DomainImpl.Role.PRIVATE, false);
            try {
                attachPasid(dev.group, d, pasid, PasidAttach.Kind.PRIVATE);
            } catch (RuntimeException e) {
                state.freeHw(d);
                throw e;
            }
            PrivatePasidImpl p = new PrivatePasidImpl(dataPath, dev, pasid, d);
            privatePasids.add(p);
            return p;
        } catch (RuntimeException e) {
            actions.add(() -> state.freeQuietly(pasid));
            throw e;
        } finally {
            state.unlock();
        }
    }

    @Override
    public void privatePasidFree(PrivatePasid pasid) {
        state.lock();
        try {
            if (!(pasid instanceof PrivatePasidImpl p) || p.dataPath != dataPath
                    || !privatePasids.remove(p)) {
                throw err(ENODEV, pasid + " is not a live private PASID of this IOMMU core");
            }
            p.live = false;
            GroupImpl g = p.device.group;
            PasidAttach pa = g == null ? null : g.pasids.get(p.pasid.id());
            if (pa != null && pa.domain == p.domain) {
                detachPasid(pa);
            }
            if (p.domain.live) {
                state.freeHw(p.domain);
            }
            IoasidHandle h = p.pasid;
            actions.add(() -> state.freeQuietly(h));
        } finally {
            state.unlock();
        }
    }

    // ------------------------------------------------------------------ page tables (rules 56-58)

    @Override
    public void map(IommuDomain domain, long iova, long paddr, long size, int prot) {
        dataPath.map(domain, iova, paddr, size, prot);
    }

    @Override
    public long unmap(IommuDomain domain, long iova, long size) {
        return dataPath.unmap(domain, iova, size);
    }

    @Override
    public long unmapFast(IommuDomain domain, long iova, long size, IotlbGather gather) {
        return dataPath.unmapFast(domain, iova, size, gather);
    }

    @Override
    public void iotlbSync(IommuDomain domain, IotlbGather gather) {
        dataPath.iotlbSync(domain, gather);
    }

    @Override
    public void flushIotlbAll(IommuDomain domain) {
        dataPath.flushIotlbAll(domain);
    }

    @Override
    public long iovaToPhys(IommuDomain domain, long iova) {
        return dataPath.iovaToPhys(domain, iova);
    }

    @Override
    public Translation translate(String device, int pasid, long iova, Access access) {
        return dataPath.translate(device, pasid, iova, access);
    }

    // ------------------------------------------------------------------ vIOMMU (rules 89-94)

    @Override
    public Viommu viommuAlloc(String device, IommuDomain nestingParent) {
        return viommus.viommuAlloc(device, nestingParent);
    }

    @Override
    public void viommuDestroy(Viommu viommu) {
        viommus.viommuDestroy(viommu);
    }

    @Override
    public void viommuTeardown(Viommu viommu) {
        viommus.viommuTeardown(viommu);
    }

    @Override
    public Vdevice vdeviceAlloc(Viommu viommu, String device, long virtId) {
        return viommus.vdeviceAlloc(viommu, device, virtId);
    }

    @Override
    public void vdeviceDestroy(Vdevice vdevice) {
        viommus.vdeviceDestroy(vdevice);
    }

    @Override
    public String vdeviceFind(Viommu viommu, long virtId) {
        return viommus.vdeviceFind(viommu, virtId);
    }

    @Override
    public long vdeviceId(Viommu viommu, String device) {
        return viommus.vdeviceId(viommu, device);
    }

    // ------------------------------------------------------------------ snapshots

    @Override
    public BackendDTO[] backends() {
        return snapshots.backends();
    }

    @Override
    public DeviceDTO[] devices() {
        return snapshots.devices();
    }

    @Override
    public GroupDTO[] groups() {
        return snapshots.groups();
    }

    @Override
    public DomainDTO[] domains() {
        return snapshots.domains();
    }

    @Override
    public PasidDTO[] pasids() {
        return snapshots.pasids();
    }

    @Override
    public ViommuDTO[] viommus() {
        return snapshots.viommus();
    }

    @Override
    public String[] commandLog(String backend, int max) {
        return snapshots.commandLog(backend, max);
    }

    @Override
    public String toString() {
        return "IommuCore[" + platformDefault + "]";
    }
}
