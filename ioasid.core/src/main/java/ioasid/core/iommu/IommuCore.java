package ioasid.core.iommu;

import static ioasid.api.Errno.EINVAL;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.osgi.framework.BundleContext;
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
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;
import ioasid.core.config.CoreSettings;
import ioasid.core.impl.EventAdminPoster;

/*
 * The IOMMU core, over backend services that model the hardware: the DS component. It holds the
 * configuration and the whiteboard bindings, answers IommuService by delegating to one class per
 * concept, and orders the teardown that crosses concerns.
 *
 * Who calls whom, so that no concept class calls another in a circle (all of them share
 * IommuState; the handles point to it, a private PASID to DataPath):
 *   IommuCore      every class below; it orders a PASID's revocation and close itself
 *   Backends       Groups, Pasids, Sva, PrivatePasids, Viommus: what leaves with the hardware
 *   Groups         DomainSwitch (groups, caller domains, default domains)
 *   DmaOwnership   DomainSwitch (claim and release)
 *   Sva            Pasids
 *   PrivatePasids  Pasids, DataPath
 *   DomainSwitch, Pasids, Viommus, DataPath, Snapshots: none
 *
 * Rules:
 *  1. A PASID freed while attached is detached everywhere by this core's FREE listener: its
 *     attachments first, then the SVA binds and private PASIDs that used it (S6).
 *  2. A global PASID is freed after it is detached everywhere; freeing one allocGlobalPasid did
 *     not hand out is EINVAL.
 *  3. Closing lets every backend leave as if its service went away (D17), refuses backends
 *     that arrive afterwards, and frees the PASID set, which the core alone may free (D19).
 */
@Component(service = {IommuService.class, IoasidListener.class}, immediate = true,
        configurationPid = IommuCore.PID,
        property = {Constants.SERVICE_RANKING + ":Integer=" + IoasidListener.PRIORITY_IOMMU,
            IoasidListener.EVENTS + "=FREE", IoasidListener.NAME + "=iommu-core"})
@Designate(ocd = IommuCore.Config.class)
public final class IommuCore implements IommuService, IoasidListener {
    public static final String PID = "ioasid.iommu";
    static final String DEFAULT_DOMAIN = "auto";
    static final int DEFAULT_QUOTA = 0x10000;

    @ObjectClassDefinition(name = "IOMMU core", description = "Groups, domains and PASIDs over "
            + "the IOMMU backends")
    public @interface Config {
        @AttributeDefinition(name = "Default domain",
                description = "The default domain type (rule 41): auto is DMA with a flush queue",
                options = {@Option(label = "auto (DMA-FQ)", value = "auto"),
                    @Option(label = "strict (DMA)", value = "strict"),
                    @Option(label = "passthrough (identity)", value = "passthrough")})
        String default_domain() default DEFAULT_DOMAIN;

        @AttributeDefinition(name = "Memory encryption",
                description = "Memory encryption is active: passthrough is forced off (rule 41)")
        boolean memory_encryption() default false;

        @AttributeDefinition(name = "PASID quota",
                description = "IOASIDs this core may hold for global and private PASIDs",
                min = "1")
        int pasid_quota() default DEFAULT_QUOTA;
    }

    private static final System.Logger LOG = System.getLogger("ioasid.iommu");

    private final DomainType platformDefault;
    private final IommuState state;
    private final Groups groups;
    private final DmaOwnership ownership;
    private final Pasids pasids;
    private final Sva sva;
    private final PrivatePasids privatePasids;
    /** The hot path: IommuService's page-table calls go straight to it. */
    private final DataPath dataPath;
    private final Viommus viommus;
    private final Snapshots snapshots;
    private final Backends backends;

    @Activate
    public IommuCore(@Reference(name = "ioasid", target = "(!(ioasid.role=host))")
            IoasidService ioasid, Config config, BundleContext context,
            Map<String, Object> properties) {
        this(ioasid, CoreSettings.refused(context, PID, properties,
                "the IOMMU core uses the default of each"), config);
    }

    private IommuCore(IoasidService ioasid, Set<String> refused, Config config) {
        this(ioasid, platformDefault(refused.contains("default.domain") ? DEFAULT_DOMAIN
                : config.default_domain(), !refused.contains("memory.encryption")
                        && config.memory_encryption()),
                refused.contains("pasid.quota") ? DEFAULT_QUOTA : config.pasid_quota());
    }

    public IommuCore(IoasidService ioasid, DomainType platformDefault, int pasidQuota) {
        if (ioasid == null || platformDefault == null || pasidQuota < 1) {
            throw new IoasidException(EINVAL, "IOMMU core needs an IOASID service, a default "
                    + "domain type and a positive PASID quota");
        }
        this.platformDefault = platformDefault;
        this.state = new IommuState(ioasid, pasidQuota);
        DomainSwitch domainSwitch = new DomainSwitch(state);
        this.groups = new Groups(state, domainSwitch, platformDefault);
        this.ownership = new DmaOwnership(state, domainSwitch);
        this.dataPath = new DataPath(state);
        this.pasids = new Pasids(state);
        this.sva = new Sva(state, pasids);
        this.privatePasids = new PrivatePasids(state, pasids, dataPath);
        this.viommus = new Viommus(state);
        this.snapshots = new Snapshots(state);
        this.backends = new Backends(state, groups, pasids, sva, privatePasids, viommus);
    }

    /** Rule 41: DMA_FQ unless strict or passthrough; memory encryption forces passthrough off. */
    /** The default domain type this core gives groups whose backend does not choose one. */
    DomainType platformDefault() {
        return platformDefault;
    }

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
            all = new ArrayList<>(state.backends.values());
        } finally {
            state.unlock();
        }
        for (BackendEntry be : all) {
            unbindBackend(be.backend, Map.of(Constants.SERVICE_ID, be.serviceId));
        }
        state.freePasidSet();
    }

    /** Event Admin, typed as Object so the core needs its classes only when one is bound. */
    @Reference(service = org.osgi.service.event.EventAdmin.class, name = "eventAdmin",
            cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    public void bindEventAdmin(Object eventAdmin) {
        backends.monitor = new EventAdminPoster(eventAdmin);
    }

    public void unbindEventAdmin(Object eventAdmin) {
        backends.monitor = null;
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    public void bindBackend(IommuBackend backend, Map<String, Object> props) {
        backends.bind(backend, props);
    }

    public void updatedBackend(IommuBackend backend, Map<String, Object> props) {
        backends.updated(props);
    }

    public void unbindBackend(IommuBackend backend, Map<String, Object> props) {
        backends.unbind(props);
    }

    /**
     * The IOASID FREE listener: a PASID freed while still attached (life cycle patterns 3 and
     * 4, S6) is detached from every device, its references dropped.
     */
    @Override
    public void onEvent(IoasidEvent event) {
        if (event.type() != EventType.FREE || !state.bound.containsKey(event.handle())) {
            return;
        }
        state.lock();
        try {
            if (state.bound.containsKey(event.handle())) {
                detachEverywhere(event.handle());
            }
        } finally {
            state.unlock();
        }
    }

    @Override
    public void freeGlobalPasid(IoasidHandle pasid) {
        state.lock();
        try {
            pasids.forgetGlobal(pasid);
            detachEverywhere(pasid);
            state.actions.add(() -> state.freeQuietly(pasid));
        } finally {
            state.unlock();
        }
    }

    /** Detaches a PASID wherever it is attached, ending the binds and handles that used it. */
    private void detachEverywhere(IoasidHandle pasid) {
        // the groups it is attached in, not every group: a free costs the same with a thousand
        // instances as with one
        for (GroupImpl g : state.boundGroups(pasid)) {
            PasidAttach pa = g.pasids.get(pasid.id());
            if (pa == null || pa.handle != pasid) {
                continue;
            }
            pasids.detachPasid(pa);
            sva.pasidGone(pasid, g);
            privatePasids.pasidGone(pasid);
        }
    }

    // The rest of IommuService, each call handed to the class of its concept.

    @Override
    public IommuGroup group(String device) {
        return groups.group(device);
    }

    @Override
    public IommuGroup group(int groupId) {
        return groups.group(groupId);
    }

    @Override
    public IommuDomain domain(int domainId) {
        return groups.domain(domainId);
    }

    @Override
    public IommuDomain domainAlloc(String device, boolean nestingParent) {
        return groups.domainAlloc(device, nestingParent);
    }

    @Override
    public void domainFree(IommuDomain domain) {
        groups.domainFree(domain);
    }

    @Override
    public void attachGroup(IommuDomain domain, IommuGroup group) {
        groups.attachGroup(domain, group);
    }

    @Override
    public void detachGroup(IommuDomain domain, IommuGroup group) {
        groups.detachGroup(domain, group);
    }

    @Override
    public void attachDevice(IommuDomain domain, String device) {
        groups.attachDevice(domain, device);
    }

    @Override
    public void detachDevice(IommuDomain domain, String device) {
        groups.detachDevice(domain, device);
    }

    @Override
    public void replaceGroupDomain(IommuGroup group, IommuDomain domain) {
        groups.replaceGroupDomain(group, domain);
    }

    @Override
    public void replaceDeviceDomain(String device, IommuDomain domain) {
        groups.replaceDeviceDomain(device, domain);
    }

    @Override
    public void setDefaultDomainType(IommuGroup group, DomainType type, boolean privileged) {
        groups.setDefaultDomainType(group, type, privileged);
    }

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
    public void replaceDevicePasid(IommuDomain domain, String device, IoasidHandle pasid) {
        pasids.replaceDevicePasid(domain, device, pasid);
    }

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

    @Override
    public PrivatePasid privatePasidAlloc(String device) {
        return privatePasids.privatePasidAlloc(device);
    }

    @Override
    public void privatePasidFree(PrivatePasid pasid) {
        privatePasids.privatePasidFree(pasid);
    }

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

    @Override
    public BackendDTO[] backends() {
        return snapshots.backends();
    }

    @Override
    public int backendCount() {
        return snapshots.backendCount();
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
