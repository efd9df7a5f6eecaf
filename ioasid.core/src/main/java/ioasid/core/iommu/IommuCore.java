package ioasid.core.iommu;

import static ioasid.core.iommu.IommuState.err;
import static ioasid.api.Errno.EINVAL;

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

import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidTopics;
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
    private final Pasids pasids;
    private final Sva sva;
    private final PrivatePasids privatePasidsOf;
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
        this.pasids = new Pasids(state);
        this.sva = new Sva(state, pasids);
        this.privatePasidsOf = new PrivatePasids(state, pasids, dataPath);
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
            pasids.dropAttach(pa);
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
                pasids.dropAttach(pa);
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
            pasids.dropAttach(pa);
        }
        sva.domainGone(d);
        privatePasidsOf.domainGone(d);
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
        return pasids.maxPasids(device);
    }

    @Override
    public IoasidHandle allocGlobalPasid(String device) {
        return pasids.allocGlobalPasid(device);
    }

    @Override
    public void attachDevicePasid(IommuDomain domain, String device, IoasidHandle pasid) {
        pasids.attachDevicePasid(domain, device, pasid);
    }

    @Override
    public void detachDevicePasid(IommuDomain domain, String device, IoasidHandle pasid) {
        pasids.detachDevicePasid(domain, device, pasid);
    }

    @Override
    public void freeGlobalPasid(IoasidHandle pasid) {
        state.lock();
        try {
            pasids.forgetGlobal(pasid);
            detachEverywhere(pasid);
            actions.add(() -> state.freeQuietly(pasid));
        } finally {
            state.unlock();
        }
    }

    /** Detaches a PASID wherever it is attached, ending the binds and handles that used it. */
    private void detachEverywhere(IoasidHandle pasid) {
        for (GroupImpl g : new ArrayList<>(groups.values())) {
            PasidAttach pa = g.pasids.get(pasid.id());
            if (pa == null || pa.handle != pasid) {
                continue;
            }
            pasids.detachPasid(pa);
            sva.pasidGone(pasid, g);
            privatePasidsOf.pasidGone(pasid);
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
        return sva.svaBind(device, mm);
    }

    @Override
    public void svaUnbind(SvaHandle handle) {
        sva.svaUnbind(handle);
    }

    @Override
    public void mmRelease(ProcessAddressSpace mm) {
        sva.mmRelease(mm);
    }

    // ------------------------------------------------------------------ private PASIDs (seed 002)

    @Override
    public PrivatePasid privatePasidAlloc(String device) {
        return privatePasidsOf.privatePasidAlloc(device);
    }

    @Override
    public void privatePasidFree(PrivatePasid pasid) {
        privatePasidsOf.privatePasidFree(pasid);
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
