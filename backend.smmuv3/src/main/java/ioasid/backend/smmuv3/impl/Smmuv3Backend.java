package ioasid.backend.smmuv3.impl;

import static ioasid.api.Errno.E2BIG;
import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.EIO;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.backend.smmuv3.impl.Bits.hex;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.BackendVdevice;
import ioasid.api.iommu.spi.BackendViommu;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;

/*
 * One ARM SMMUv3 and the Linux arm-smmu-v3 driver that runs it.
 *
 * Rules (kernel-rules.md rules 44, 89-92, 98, 99; section 2 "ARM SMMUv3"; known bugs 10, 12):
 *  1. caps().maxPasids() is 1 << IDR1.SSIDSIZE (known bug 10 reported SSIDSIZE itself); 0 when
 *     SSIDSIZE is 0. A master gets min(SSIDSIZE, its PASID bits) SSID bits, at most 10 when the
 *     SMMU lacks IDR0.CD2L (CTXDESC_LINEAR_CDMAX).
 *  2. STE per domain: IDENTITY -> bypass, BLOCKED -> abort, stage-1 paging -> S1 translate through
 *     the master's CD table with S1DSS=SSID0 (CD 0 is the domain's context), nesting parent ->
 *     stage-2 translate. While PASIDs are in use under an IDENTITY or BLOCKED domain the STE keeps
 *     the CD table with S1DSS=BYPASS or TERMINATE. Every STE change is followed by CFGI_STE and
 *     CMD_SYNC.
 *  3. CDs are written in CdWriter's order (rules 98, 99). SSID >= 1 << S1CDMax is E2BIG
 *     (rule 98). SSID 0 is never a PASID (EINVAL). Replacing the domain of a live CD 0 removes it
 *     and installs the new one (DMA is discarded in between, which rule 44 allows).
 *  4. Each stage-1 domain owns an ASID (lowest free of 8 or 16 bits), each nesting parent a
 *     VMID. SVA domains use the process's CPU ASID: a private domain holding that number is given
 *     a new ASID (ASID change of all its live CDs, then TLBI_NH_ASID of the old one and
 *     CMD_SYNC: arm_smmu_share_asid). Every SVA domain of one process shares one refcounted
 *     entry, which goes when the last of them is freed (known bug 12: unbind-bind reuses it).
 *  5. Unmap syncs invalidate by VA per granule, or the whole ASID (VMID) from 512 commands on
 *     (CMDQ_MAX_TLBI_OPS), then CMD_SYNC; freeing a table on unmap flushes the walk at once; a
 *     freed domain has its ASID (VMID) invalidated. ATS is not modelled (STE.EATS is 0), so no
 *     ATC_INV is ever needed.
 *  6. detachDev is EOPNOTSUPP (the driver uses default domains); attaching the current domain
 *     again does nothing (rule 44). A domain with attachments is not freed (EBUSY).
 *  7. A vIOMMU needs nesting and a stage-2 nesting parent (rule 89); its vSID table maps guest
 *     StreamIDs to physical ones, one entry per device and per vSID (rule 90).
 *
 * Concurrency: one lock per instance guards every table, cache and queue. Nothing outside this
 * bundle is called under it; an SVA walk releases it before asking the process's page table.
 *
 * Records: every record of this bundle declares equals, hashCode and toString itself (equals and
 * hashCode compute what the generated ones would). The generated ones are linked through
 * java.lang.runtime.ObjectMethods, whose JDK-wide method handles keep the last types they were
 * adapted to, the record's and its components' (JDK-8078641, not fixed in Java 17): the last
 * backend record compared, hashed or printed would keep this bundle's class loader reachable
 * after it is uninstalled (D17).
 */
@Component(configurationPid = Smmuv3Backend.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        service = IommuBackend.class,
        property = {IommuBackend.VENDOR + "=" + Smmuv3Backend.VENDOR,
            IommuBackend.NAME + "=smmu0"})
@Designate(ocd = Smmuv3Backend.Config.class, factory = true)
public final class Smmuv3Backend implements IommuBackend {
    public static final String PID = "ioasid.backend.smmuv3";
    public static final String VENDOR = "smmuv3";

    /** CMDQ_MAX_TLBI_OPS: from this many per-page commands on, invalidate the whole context. */
    static final int MAX_TLBI_OPS = 1 << (12 - 3);

    @ObjectClassDefinition(name = "ARM SMMUv3 IOMMU",
            description = "One SMMUv3 instance and the endpoints behind it")
    public @interface Config {
        @AttributeDefinition(name = "Instance name",
                description = "Unique on the platform; published as ioasid.iommu.name")
        String ioasid_iommu_name() default "smmu0";

        @AttributeDefinition(name = "Devices",
                description = "One endpoint per entry: name[;sid=N][;group=KEY][;pasid=BITS]. "
                        + "Without sid a device gets its position in the list. Applied live.")
        String[] devices() default {};

        @AttributeDefinition(name = "SSIDSIZE",
                description = "IDR1.SSIDSIZE, bits of SubstreamID (0: no PASIDs)",
                min = "0", max = "20")
        int ssid_bits() default 16;

        @AttributeDefinition(name = "SIDSIZE", description = "IDR1.SIDSIZE, bits of StreamID",
                min = "1", max = "32")
        int sid_bits() default 16;

        @AttributeDefinition(name = "CD2L", description = "IDR0.CD2L: two-level CD tables")
        boolean cd2l() default true;

        @AttributeDefinition(name = "ASID16", description = "IDR0.ASID16: 16-bit ASIDs, else 8")
        boolean asid16() default true;

        @AttributeDefinition(name = "VMID16", description = "IDR0.VMID16: 16-bit VMIDs, else 8")
        boolean vmid16() default true;

        @AttributeDefinition(name = "IAS", description = "Input address bits of the page tables",
                min = "32", max = "48")
        int ias() default 48;

        @AttributeDefinition(name = "OAS", description = "IDR5.OAS in bits: 32, 36, 40, 42, 44 "
                + "or 48")
        int oas() default 48;

        @AttributeDefinition(name = "Nesting",
                description = "Stage 1 and stage 2: nesting parents and vIOMMUs")
        boolean nesting() default true;

        @AttributeDefinition(name = "SVA",
                description = "Shared virtual addressing with CPU ASIDs (BTM)")
        boolean sva() default true;

        @AttributeDefinition(name = "Table memory (KiB)",
                description = "Memory for stream, CD and page tables; exhausting it gives ENOMEM",
                min = "64")
        long table_memory_kib() default 65536;

        @AttributeDefinition(name = "Command log size",
                description = "How many commands commandLog() keeps", min = "1")
        int command_log_size() default 4096;
    }

    /**
     * Selects the default hardware parameters in {@link #Smmuv3Backend(String, List, Hardware)},
     * the constructor callers outside this bundle use.
     */
    public static final class Hardware {
    }

    private static final System.Logger LOG = System.getLogger("ioasid.backend.smmuv3");

    private final ReentrantLock lock = new ReentrantLock();
    private final String name;
    private final Smmuv3Params hw;
    final Smmu smmu;
    private final CdWriter cds;
    private final IommuCaps caps;
    private final Map<String, Master> masters = new LinkedHashMap<>();
    private final Map<Integer, Smmuv3Domain> domains = new LinkedHashMap<>();
    /** ASID to its holder: a stage-1 Smmuv3Domain or a SharedAsid (arm_smmu_asid_xa). */
    private final TreeMap<Integer, Object> asids = new TreeMap<>();
    private final BitSet vmids = new BitSet();
    private final List<Smmuv3Viommu> viommus = new ArrayList<>();
    private int nextDomainId = 1;
    private boolean closed;

    @Activate
    public Smmuv3Backend(Config config) {
        this(config.ioasid_iommu_name(), Arrays.asList(config.devices()), Smmuv3Params.of(config));
    }

    /**
     * Builds an instance with the default hardware parameters without a framework.
     *
     * @param devices entries in {@link DeviceInfo#parse} form
     * @throws IllegalArgumentException for bad device entries
     */
    public Smmuv3Backend(String name, List<String> devices, Hardware defaults) {
        this(name, devices, Smmuv3Params.DEFAULTS);
    }

    /**
     * Builds an instance without a framework.
     *
     * @param devices entries in {@link DeviceInfo#parse} form
     * @throws IllegalArgumentException for bad device entries
     */
    Smmuv3Backend(String name, List<String> devices, Smmuv3Params params) {
        this.name = Objects.requireNonNull(name, "name");
        this.hw = Objects.requireNonNull(params, "params");
        this.smmu = new Smmu(hw.sidBits, hw.ssidBits, hw.cd2l, hw.asid16, hw.vmid16, hw.ias,
                hw.oas, hw.tableMemoryKib * 1024, hw.commandLogSize);
        this.cds = new CdWriter(smmu);
        this.caps = IommuCaps.builder(VENDOR)
                .maxPasids(hw.ssidBits == 0 ? 0 : 1 << hw.ssidBits)
                .pgsizeBitmap(IoPgtable.PGSIZE_BITMAP)
                .addressBits(hw.ias, hw.oas)
                .domainTypes(EnumSet.of(DomainType.BLOCKED, DomainType.IDENTITY,
                        DomainType.UNMANAGED, DomainType.DMA, DomainType.DMA_FQ))
                .defaultDomains(true)
                .nesting(hw.nesting)
                .build();
        applyDevices(parseDevices(devices));
    }

    @Modified
    void modified(Config config) {
        try {
            Smmuv3Params next = Smmuv3Params.of(config);
            if (!next.equals(hw)) {
                LOG.log(System.Logger.Level.WARNING, "SMMU " + name + ": hardware parameters ("
                        + next + ") take effect when the component restarts; still " + hw);
            }
        } catch (IllegalArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "SMMU " + name + ": hardware parameters "
                    + "rejected, the component will not restart with them (" + e.getMessage()
                    + "); still " + hw);
        }
        if (!config.ioasid_iommu_name().equals(name)) {
            LOG.log(System.Logger.Level.WARNING, "SMMU " + name + " renamed to "
                    + config.ioasid_iommu_name() + "; the service property follows at once");
        }
        List<DeviceInfo> infos;
        try {
            infos = parseDevices(Arrays.asList(config.devices()));
        } catch (IllegalArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "SMMU " + name + ": device list rejected, "
                    + "keeping the old one: " + e.getMessage());
            return;
        }
        applyDevices(infos);
    }

    @Deactivate
    void deactivate() {
        lock.lock();
        try {
            closed = true;
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ devices

    private List<DeviceInfo> parseDevices(List<String> specs) {
        List<DeviceInfo> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Set<Long> sids = new HashSet<>();
        for (int i = 0; i < specs.size(); i++) {
            DeviceInfo d = DeviceInfo.parse(specs.get(i), i);
            if (!names.add(d.name())) {
                throw new IllegalArgumentException("device " + d.name() + " listed twice");
            }
            if (!sids.add(d.streamId())) {
                throw new IllegalArgumentException("StreamID " + hex(d.streamId()) + " of "
                        + d.name() + " already taken (arm_smmu_insert_master: EEXIST)");
            }
            if (!smmu.sidInRange(d.streamId())) {
                throw new IllegalArgumentException("StreamID " + hex(d.streamId()) + " of "
                        + d.name() + " outside the stream table (ERANGE)");
            }
            out.add(d);
        }
        return out;
    }

    /** Releases masters no longer listed (or changed), then probes new ones, in list order. */
    private void applyDevices(List<DeviceInfo> infos) {
        lock.lock();
        try {
            Map<String, DeviceInfo> wanted = new LinkedHashMap<>();
            for (DeviceInfo d : infos) {
                wanted.put(d.name(), d);
            }
            for (Master m : new ArrayList<>(masters.values())) {
                if (!m.info.equals(wanted.get(m.name()))) {
                    releaseMaster(m);
                }
            }
            Map<String, Master> next = new LinkedHashMap<>();
            for (DeviceInfo d : infos) {
                Master m = masters.get(d.name());
                if (m == null) {
                    smmu.ensureSpan(d.streamId());
                    int bits = Math.min(hw.ssidBits, d.pasidBits());
                    if (!hw.cd2l) {
                        bits = Math.min(bits, Cd.LINEAR_CDMAX);
                    }
                    m = new Master(d, bits);
                }
                next.put(d.name(), m);
            }
            masters.clear();
            masters.putAll(next);
        } finally {
            lock.unlock();
        }
    }

    /** arm_smmu_release_device: PASIDs cleared, the STE set to abort, the CD table freed. */
    private void releaseMaster(Master m) {
        for (Map.Entry<Integer, Smmuv3Domain> e : new ArrayList<>(m.pasids.entrySet())) {
            clearPasid(m, e.getKey(), e.getValue());
        }
        Smmuv3Domain rid = m.ridDomain;
        if (rid != null) {
            rid.attachments.remove(new Smmuv3Domain.Attachment(m, 0));
        }
        m.ridDomain = null;
        installSte(m);
        if (cds.cd0Valid(m)) {
            cds.remove(List.of(new Smmuv3Domain.Attachment(m, 0)));
        }
        if (m.cdTable != null) {
            m.cdTable.free(smmu.mem);
            m.cdTable = null;
        }
        for (Smmuv3Viommu v : viommus) {
            v.vsids.values().removeIf(vd -> vd.master == m);
        }
        masters.remove(m.name());
    }

    // ------------------------------------------------------------------ IommuBackend

    @Override
    public IommuCaps caps() {
        return caps;
    }

    @Override
    public List<DeviceInfo> devices() {
        lock.lock();
        try {
            List<DeviceInfo> out = new ArrayList<>();
            for (Master m : masters.values()) {
                out.add(m.info);
            }
            return Collections.unmodifiableList(out);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public BackendDomain domainAlloc(DomainType type, boolean nestingParent) {
        if (type == null) {
            throw err(EINVAL, "no domain type");
        }
        lock.lock();
        try {
            checkOpen();
            switch (type) {
                case BLOCKED:
                case IDENTITY:
                    if (nestingParent) {
                        throw err(EINVAL, "a " + type.sysfsName()
                                + " domain cannot be a nesting parent");
                    }
                    return register(new Smmuv3Domain(this, type, type == DomainType.BLOCKED
                            ? Smmuv3Domain.Kind.BLOCKED : Smmuv3Domain.Kind.IDENTITY,
                            nextDomainId));
                case UNMANAGED:
                case DMA:
                case DMA_FQ:
                    if (nestingParent) {
                        if (!hw.nesting) {
                            throw err(EOPNOTSUPP, "SMMU " + name + " has no nesting");
                        }
                        if (type != DomainType.UNMANAGED) {
                            throw err(EINVAL, "a nesting parent is an unmanaged domain");
                        }
                        return allocS2(type);
                    }
                    return allocS1(type);
                default:
                    throw err(EOPNOTSUPP, "SVA domains come from svaDomainAlloc");
            }
        } finally {
            lock.unlock();
        }
    }

    private Smmuv3Domain register(Smmuv3Domain d) {
        nextDomainId++;
        domains.put(d.id, d);
        return d;
    }

    private Smmuv3Domain allocS1(DomainType type) {
        int asid = lowestFreeAsid();
        Smmuv3Domain d = new Smmuv3Domain(this, type, Smmuv3Domain.Kind.S1, nextDomainId);
        d.pgtable = new IoPgtable(IoPgtable.Stage.S1, hw.ias, hw.oas, smmu.mem, d);
        d.asid = asid;
        asids.put(asid, d);
        return register(d);
    }

    private Smmuv3Domain allocS2(DomainType type) {
        int vmid = vmids.nextClearBit(1);
        if (vmid >= 1 << smmu.vmidBits) {
            throw err(ENOSPC, "no free VMID (" + smmu.vmidBits + " bits)");
        }
        Smmuv3Domain d = new Smmuv3Domain(this, type, Smmuv3Domain.Kind.S2, nextDomainId);
        d.pgtable = new IoPgtable(IoPgtable.Stage.S2, hw.ias, hw.oas, smmu.mem, d);
        d.vmid = vmid;
        vmids.set(vmid);
        return register(d);
    }

    private int lowestFreeAsid() {
        int asid = 1;
        for (int used : asids.keySet()) {
            if (used != asid) {
                break;
            }
            asid++;
        }
        if (asid >= 1 << smmu.asidBits) {
            throw err(ENOSPC, "no free ASID (" + smmu.asidBits + " bits)");
        }
        return asid;
    }

    @Override
    public BackendDomain svaDomainAlloc(ProcessAddressSpace mm) {
        if (mm == null) {
            throw err(EINVAL, "no address space");
        }
        boolean compatible = mm.dmaCompatible();
        int asid = mm.asid();
        lock.lock();
        try {
            checkOpen();
            if (!hw.sva || hw.ssidBits == 0) {
                throw err(EOPNOTSUPP, "SMMU " + name + " has no SVA");
            }
            if (!compatible) {
                throw err(EBUSY, "the process page table is not DMA compatible (rule 36)");
            }
            if (asid <= 0 || asid >= 1 << smmu.asidBits) {
                throw err(EINVAL, "CPU ASID " + asid + " does not fit " + smmu.asidBits
                        + "-bit SMMU ASIDs");
            }
            Object holder = asids.get(asid);
            SharedAsid shared;
            if (holder instanceof SharedAsid s) {
                if (s.mm != mm) {
                    throw err(EINVAL, "ASID " + asid + " is shared with another process");
                }
                shared = s;
            } else {
                int moveTo = holder == null ? 0 : lowestFreeAsid();
                PhysMem.Region pgd = smmu.mem.alloc(4096, null);
                shared = new SharedAsid(mm, asid, pgd);
                pgd.owner = shared;
                if (holder instanceof Smmuv3Domain priv) {
                    shareAsid(priv, moveTo);
                }
                asids.put(asid, shared);
            }
            shared.refs++;
            Smmuv3Domain d = new Smmuv3Domain(this, DomainType.SVA, Smmuv3Domain.Kind.SVA,
                    nextDomainId);
            d.shared = shared;
            d.asid = asid;
            return register(d);
        } finally {
            lock.unlock();
        }
    }

    /**
     * arm_smmu_share_asid: the private domain moves to {@code newAsid}; its live CDs change ASID
     * in one batch, then the old ASID is invalidated.
     */
    private void shareAsid(Smmuv3Domain priv, int newAsid) {
        int old = priv.asid;
        asids.put(newAsid, priv);
        priv.asid = newAsid;
        List<Smmuv3Domain.Attachment> live = new ArrayList<>();
        for (Smmuv3Domain.Attachment a : priv.attachments) {
            if (a.master().cdTable != null) {
                live.add(a);
            }
        }
        cds.changeAsid(live, newAsid);
        smmu.cmdq.submit(List.of(Command.tlbiNhAsid(old)));
        asids.remove(old);
    }

    @Override
    public void attachDev(String device, BackendDomain domain) {
        lock.lock();
        try {
            checkOpen();
            Master m = master(device);
            Smmuv3Domain d = own(domain);
            if (d.kind == Smmuv3Domain.Kind.SVA) {
                throw err(EINVAL, "an SVA domain is attached at a PASID only");
            }
            if (m.ridDomain == d) {
                return; // rule 44: attaching the current domain again cannot fail
            }
            Smmuv3Domain.Attachment rid = new Smmuv3Domain.Attachment(m, 0);
            if (d.kind == Smmuv3Domain.Kind.S1) {
                cds.prepare(m, 0);
                if (cds.cd0Valid(m)) {
                    cds.remove(List.of(rid));
                }
                cds.install(List.of(rid), cdFor(d), d);
            } else if (d.kind == Smmuv3Domain.Kind.S2 && !m.pasids.isEmpty()) {
                throw err(EBUSY, "a stage-2 domain cannot take " + m.name()
                        + " while its PASIDs are in use");
            }
            if (m.ridDomain != null) {
                m.ridDomain.attachments.remove(rid);
            }
            d.attachments.add(rid);
            m.ridDomain = d;
            installSte(m);
            if (d.kind != Smmuv3Domain.Kind.S1 && cds.cd0Valid(m)) {
                cds.remove(List.of(rid)); // after the STE stopped using CD 0
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void detachDev(String device) {
        throw err(EOPNOTSUPP, "SMMUv3 uses default domains: attach BLOCKED or IDENTITY instead");
    }

    @Override
    public void setDevPasid(String device, int pasid, BackendDomain domain) {
        lock.lock();
        try {
            checkOpen();
            Master m = master(device);
            checkPasid(pasid);
            Smmuv3Domain d = own(domain);
            if (d.kind != Smmuv3Domain.Kind.S1 && d.kind != Smmuv3Domain.Kind.SVA) {
                throw err(EINVAL, "a " + d.kind + " domain cannot be attached at a PASID");
            }
            if (pasid >= 1L << m.ssidBits) {
                throw err(E2BIG, "SSID " + pasid + " >= 1 << S1CDMax " + m.ssidBits + " of "
                        + m.name() + " (rule 98)");
            }
            Smmuv3Domain rid = m.ridDomain;
            if (rid == null || rid.kind == Smmuv3Domain.Kind.S2) {
                throw err(EINVAL, m.name() + " is on " + (rid == null ? "no domain" : rid)
                        + ": its STE has no CD table");
            }
            Smmuv3Domain cur = m.pasids.get(pasid);
            if (cur == d) {
                return;
            }
            if (cur != null) {
                throw err(EBUSY, "PASID " + pasid + " of " + m.name() + " is on " + cur);
            }
            cds.prepare(m, pasid);
            Smmuv3Domain.Attachment a = new Smmuv3Domain.Attachment(m, pasid);
            cds.install(List.of(a), cdFor(d), d);
            m.pasids.put(pasid, d);
            d.attachments.add(a);
            installSte(m);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void removeDevPasid(String device, int pasid, BackendDomain domain) {
        lock.lock();
        try {
            checkOpen();
            Master m = master(device);
            checkPasid(pasid);
            Smmuv3Domain d = own(domain);
            if (m.pasids.get(pasid) != d) {
                throw err(EINVAL, "PASID " + pasid + " of " + m.name() + " is not on " + d);
            }
            clearPasid(m, pasid, d);
            installSte(m); // the last PASID under IDENTITY/BLOCKED gives back bypass/abort
        } finally {
            lock.unlock();
        }
    }

    private void clearPasid(Master m, int pasid, Smmuv3Domain d) {
        cds.remove(List.of(new Smmuv3Domain.Attachment(m, pasid)));
        if (d.kind == Smmuv3Domain.Kind.SVA) {
            // __arm_smmu_sva_unbind: the shared ASID's TLB entries go with the CD.
            smmu.cmdq.submit(List.of(Command.tlbiNhAsid(d.asid)));
        }
        m.pasids.remove(pasid);
        d.attachments.remove(new Smmuv3Domain.Attachment(m, pasid));
    }

    @Override
    public Walk translate(String device, int pasid, long iova, Access access) {
        if (access == null) {
            throw err(EINVAL, "no access type");
        }
        Object r;
        lock.lock();
        try {
            checkOpen();
            Master m = master(device);
            if (pasid < 0 || pasid >= 1 << 20) {
                throw err(EINVAL, "PASID " + pasid + " is not a 20-bit SubstreamID");
            }
            r = smmu.translate(m.sid, pasid, iova, access == Access.WRITE);
        } finally {
            lock.unlock();
        }
        if (r instanceof Walk w) {
            return w;
        }
        // The CD shares a process page table: walk it without holding the lock.
        Smmu.SvaWalk sva = (Smmu.SvaWalk) r;
        ProcessAddressSpace mm = sva.shared().mm;
        long pa = mm.translate(iova, access);
        if (pa >= 0) {
            return Walk.translated(pa, sva.domain());
        }
        if (access == Access.WRITE && mm.translate(iova, Access.READ) >= 0) {
            return Walk.fault(Smmu.F_PERMISSION, sva.domain());
        }
        return Walk.fault(Smmu.F_TRANSLATION, sva.domain());
    }

    @Override
    public BackendViommu viommuAlloc(BackendDomain nestingParent) {
        lock.lock();
        try {
            checkOpen();
            if (!hw.nesting) {
                throw err(EOPNOTSUPP, "SMMU " + name + " has no nesting");
            }
            Smmuv3Domain d = own(nestingParent);
            if (d.kind != Smmuv3Domain.Kind.S2) {
                throw err(EINVAL, d + " is not a nesting parent (rule 89)");
            }
            Smmuv3Viommu v = new Smmuv3Viommu(this, d);
            d.viommus++;
            viommus.add(v);
            return v;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public List<String> commandLog() {
        lock.lock();
        try {
            return Collections.unmodifiableList(smmu.cmdq.strings());
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ vIOMMU

    BackendVdevice vdeviceInit(Smmuv3Viommu v, String device, long virtId) {
        lock.lock();
        try {
            checkOpen();
            if (v.destroyed) {
                throw err(ENODEV, "the vIOMMU was destroyed");
            }
            Master m = masters.get(device);
            if (m == null) {
                throw err(EINVAL, device + " is not behind SMMU " + name + " (rule 90)");
            }
            if (virtId < 0 || virtId > 0xFFFF_FFFFL) {
                throw err(EINVAL, "virtual StreamID " + virtId + " is not 32 bits");
            }
            if (v.vsids.containsKey(virtId)) {
                throw err(EEXIST, "vSID " + hex(virtId) + " is taken (rule 90)");
            }
            for (Smmuv3Viommu.Vdevice vd : v.vsids.values()) {
                if (vd.master == m) {
                    throw err(EEXIST, m.name() + " already has vSID " + hex(vd.vsid));
                }
            }
            Smmuv3Viommu.Vdevice vd = v.new Vdevice(m, virtId);
            v.vsids.put(virtId, vd);
            return vd;
        } finally {
            lock.unlock();
        }
    }

    void vdeviceDestroy(Smmuv3Viommu v, Smmuv3Viommu.Vdevice vd) {
        lock.lock();
        try {
            if (vd.destroyed) {
                throw err(EINVAL, "vDevice " + vd + " destroyed twice");
            }
            vd.destroyed = true;
            v.vsids.remove(vd.vsid, vd);
        } finally {
            lock.unlock();
        }
    }

    void viommuDestroy(Smmuv3Viommu v) {
        lock.lock();
        try {
            if (v.destroyed) {
                throw err(EINVAL, "vIOMMU destroyed twice");
            }
            if (!v.vsids.isEmpty()) {
                throw err(EBUSY, "the vIOMMU still has vDevices " + v.vsids.values()
                        + " (rule 92)");
            }
            v.destroyed = true;
            v.parent.viommus--;
            viommus.remove(v);
        } finally {
            lock.unlock();
        }
    }

    long physicalSid(Smmuv3Viommu v, long vsid) {
        lock.lock();
        try {
            Smmuv3Viommu.Vdevice vd = v.vsids.get(vsid);
            return vd == null ? -1 : vd.master.sid;
        } finally {
            lock.unlock();
        }
    }

    int viommuInvalidate(Smmuv3Viommu v, long[] raw) {
        if (raw == null || raw.length % 2 != 0) {
            throw err(EINVAL, "commands come in pairs of dwords");
        }
        lock.lock();
        try {
            checkOpen();
            if (v.destroyed) {
                throw err(ENODEV, "the vIOMMU was destroyed");
            }
            List<Command> out = new ArrayList<>();
            for (int i = 0; i < raw.length; i += 2) {
                Command c = Command.decode(raw[i], raw[i + 1]);
                if (c == null) {
                    throw err(EIO, "command " + i / 2 + ": unknown opcode");
                }
                switch (c.op()) {
                    case TLBI_NSNH_ALL:
                        c = new Command(Command.Op.TLBI_NH_ALL, 0, 0, false, 0, v.vmid(), 0, 0,
                                false);
                        break;
                    case TLBI_NH_ALL:
                    case TLBI_NH_ASID:
                    case TLBI_NH_VA:
                        c = new Command(c.op(), 0, 0, c.leaf(), c.asid(), v.vmid(), c.addr(), 0,
                                false);
                        break;
                    case ATC_INV:
                    case CFGI_CD:
                    case CFGI_CD_ALL:
                        Smmuv3Viommu.Vdevice vd = v.vsids.get(c.sid());
                        if (vd == null) {
                            throw err(EIO, "command " + i / 2 + ": no vDevice for vSID "
                                    + hex(c.sid()));
                        }
                        c = new Command(c.op(), vd.master.sid, c.ssid(), c.leaf(), 0, 0, c.addr(),
                                c.size(), c.global());
                        break;
                    default:
                        throw err(EIO, "command " + i / 2 + ": " + c.op()
                                + " is not for a guest");
                }
                out.add(c);
            }
            smmu.cmdq.submit(out);
            return out.size();
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ domain operations

    void mapPages(Smmuv3Domain d, long iova, long paddr, long pgsize, long count, int prot) {
        lock.lock();
        try {
            checkLivePaging(d);
            d.pgtable.map(iova, paddr, pgsize, count, prot);
        } finally {
            lock.unlock();
        }
    }

    long unmapPages(Smmuv3Domain d, long iova, long pgsize, long count, IotlbGather gather) {
        lock.lock();
        try {
            if (d.freed) {
                throw err(EINVAL, d + " was freed");
            }
            if (!d.paging()) {
                return 0; // rule 58
            }
            return d.pgtable.unmap(iova, pgsize, count, gather,
                    (va, size, granule) -> invalidateRange(d, va, size, granule, false));
        } finally {
            lock.unlock();
        }
    }

    long iovaToPhys(Smmuv3Domain d, long iova) {
        lock.lock();
        try {
            return d.freed || !d.paging() ? 0 : d.pgtable.iovaToPhys(iova);
        } finally {
            lock.unlock();
        }
    }

    void iotlbSync(Smmuv3Domain d, IotlbGather gather) {
        lock.lock();
        try {
            if (d.freed || !d.paging() || gather == null || gather.isEmpty()) {
                return;
            }
            invalidateRange(d, gather.start(), gather.end() - gather.start() + 1,
                    gather.pgsize(), true);
        } finally {
            lock.unlock();
        }
    }

    void flushIotlbAll(Smmuv3Domain d) {
        lock.lock();
        try {
            if (d.freed || !d.paging()) {
                return;
            }
            smmu.cmdq.submit(List.of(invalidateAll(d)));
        } finally {
            lock.unlock();
        }
    }

    private Command invalidateAll(Smmuv3Domain d) {
        return d.kind == Smmuv3Domain.Kind.S1 ? Command.tlbiNhAsid(d.asid)
                : Command.tlbiS12Vmall(d.vmid);
    }

    /** arm_smmu_tlb_inv_range_domain without range invalidation: one TLBI per granule. */
    private void invalidateRange(Smmuv3Domain d, long start, long size, long granule,
            boolean leaf) {
        List<Command> batch = new ArrayList<>();
        if (size / granule >= MAX_TLBI_OPS) {
            batch.add(invalidateAll(d));
        } else {
            for (long va = start; va - start < size; va += granule) {
                batch.add(d.kind == Smmuv3Domain.Kind.S1 ? Command.tlbiNhVa(d.asid, va, leaf)
                        : Command.tlbiS2Ipa(d.vmid, va, leaf));
            }
        }
        smmu.cmdq.submit(batch);
    }

    void freeDomain(Smmuv3Domain d) {
        lock.lock();
        try {
            if (d.freed) {
                throw err(EINVAL, d + " freed twice");
            }
            if (!d.attachments.isEmpty()) {
                throw err(EBUSY, d + " is still attached to " + d.attachments);
            }
            if (d.viommus > 0) {
                throw err(EBUSY, d + " still carries " + d.viommus + " vIOMMU(s)");
            }
            switch (d.kind) {
                case S1:
                    smmu.cmdq.submit(List.of(Command.tlbiNhAsid(d.asid))); // tlb_flush_all
                    d.pgtable.free();
                    asids.remove(d.asid);
                    break;
                case S2:
                    smmu.cmdq.submit(List.of(Command.tlbiS12Vmall(d.vmid)));
                    d.pgtable.free();
                    vmids.clear(d.vmid);
                    break;
                case SVA:
                    if (--d.shared.refs == 0) {
                        asids.remove(d.shared.asid);
                        smmu.mem.free(d.shared.pgd);
                    }
                    break;
                default:
                    break;
            }
            d.freed = true;
            domains.remove(d.id);
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ STE and CD writes

    private long[] targetSte(Master m) {
        Smmuv3Domain d = m.ridDomain;
        if (d == null) {
            return Ste.abort();
        }
        switch (d.kind) {
            case S1:
                return cdTableSte(m, Ste.S1DSS_SSID0);
            case S2:
                return Ste.s2(d.vmid, vtcr(d.pgtable), d.pgtable.ttb());
            case IDENTITY:
                return m.pasids.isEmpty() ? Ste.bypass() : cdTableSte(m, Ste.S1DSS_BYPASS);
            default:
                return m.pasids.isEmpty() ? Ste.abort() : cdTableSte(m, Ste.S1DSS_TERMINATE);
        }
    }

    private static long[] cdTableSte(Master m, int s1dss) {
        return Ste.cdTable(m.cdTable.root.pa, m.cdTable.s1fmt(), m.cdTable.s1cdmax, s1dss);
    }

    /** VTCR for the STE: T0SZ, SL0, IRGN0, ORGN0, SH0, TG0 (4K), PS. */
    private long vtcr(IoPgtable pt) {
        int sl0 = 2 - pt.startLevel;
        return Bits.prep(5, 0, 64 - pt.iasBits) | Bits.prep(7, 6, sl0)
                | Bits.prep(9, 8, Cd.RGN_WBWA) | Bits.prep(11, 10, Cd.RGN_WBWA)
                | Bits.prep(13, 12, Cd.SH_IS) | Bits.prep(18, 16, Cd.ips(pt.oasBits));
    }

    /** Writes the master's STE if it changes, then CFGI_STE and CMD_SYNC. */
    private void installSte(Master m) {
        long[] target = targetSte(m);
        long[] current = smmu.readSte(m.sid);
        if (Arrays.equals(target, current)) {
            // Same hardware state; only the shadow owner may change (IDENTITY to IDENTITY).
            smmu.mem.tag(smmu.steAddress(m.sid), m.ridDomain);
            return;
        }
        smmu.writeSte(m.sid, target, m.ridDomain);
        smmu.cmdq.submit(List.of(Command.cfgiSte(m.sid, true)));
    }

    private long[] cdFor(Smmuv3Domain d) {
        return d.kind == Smmuv3Domain.Kind.S1
                ? Cd.s1(d.pgtable.iasBits, d.pgtable.ttb(), hw.oas, d.asid)
                : Cd.sva(d.shared.pgd.pa, hw.oas, d.shared.asid);
    }

    // ------------------------------------------------------------------ helpers

    private static IoasidException err(Errno errno, String message) {
        return new IoasidException(errno, message);
    }

    private void checkOpen() {
        if (closed) {
            throw err(ENODEV, "SMMU " + name + " has stopped");
        }
    }

    private Master master(String device) {
        Master m = device == null ? null : masters.get(device);
        if (m == null) {
            throw err(ENODEV, "no device " + device + " behind SMMU " + name);
        }
        return m;
    }

    private Smmuv3Domain own(BackendDomain domain) {
        if (!(domain instanceof Smmuv3Domain d) || d.owner != this) {
            throw err(EINVAL, domain + " is not a domain of SMMU " + name);
        }
        if (d.freed) {
            throw err(EINVAL, d + " was freed");
        }
        return d;
    }

    private void checkLivePaging(Smmuv3Domain d) {
        if (d.freed) {
            throw err(EINVAL, d + " was freed");
        }
        if (!d.paging()) {
            throw err(EINVAL, d + " has no page table (rule 57)");
        }
    }

    private static void checkPasid(int pasid) {
        if (pasid <= 0 || pasid >= 1 << 20) {
            throw err(EINVAL, "PASID " + pasid + (pasid == 0
                    ? " is SSID 0, the context of DMA without PASID" : " is not 1..2^20-1"));
        }
    }

    // ------------------------------------------------------------------ inspection

    Master masterOf(String device) {
        return masters.get(device);
    }

    /** The holder of an ASID: a domain, a SharedAsid, or null. */
    Object asidHolder(int asid) {
        lock.lock();
        try {
            return asids.get(asid);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Everything observable of the hardware and the driver: STEs, CD tables, page tables, ASIDs,
     * caches, memory and the queue position. A failed call must leave it as it was.
     */
    String state() {
        lock.lock();
        try {
            StringBuilder b = new StringBuilder();
            b.append("strtab").append(smmu.strtabState()).append('\n');
            for (Master m : masters.values()) {
                b.append(m.name()).append(" sid=").append(hex(m.sid)).append(" ste=")
                        .append(Arrays.toString(smmu.readSte(m.sid))).append(" rid=")
                        .append(m.ridDomain == null ? "-" : m.ridDomain.id).append(" pasids=");
                m.pasids.forEach((p, d) -> b.append(p).append(':').append(d.id).append(','));
                if (m.cdTable != null) {
                    PhysMem.Region root = m.cdTable.root;
                    b.append(" cdtab@").append(hex(root.pa)).append(nonZero(root));
                    if (!m.cdTable.linear) {
                        for (PhysMem.Region l2 : m.cdTable.l2) {
                            if (l2 != null) {
                                b.append(" l2@").append(hex(l2.pa)).append(nonZero(l2));
                            }
                        }
                    }
                }
                b.append('\n');
            }
            for (Smmuv3Domain d : domains.values()) {
                b.append(d).append(" att=").append(d.attachments.size());
                if (d.pgtable != null) {
                    d.pgtable.dump(b);
                }
                b.append('\n');
            }
            b.append("asids=").append(asids).append(" vmids=").append(vmids);
            b.append(" mem=").append(smmu.mem.used()).append('/')
                    .append(smmu.mem.regionCount());
            b.append(" cmds=").append(smmu.cmdq.issued()).append('\n');
            b.append(smmu.cacheState());
            for (Smmuv3Viommu v : viommus) {
                b.append('\n').append(v);
            }
            return b.toString();
        } finally {
            lock.unlock();
        }
    }

    private static String nonZero(PhysMem.Region r) {
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < r.words.length; i++) {
            if (r.words[i] != 0) {
                b.append(i).append('=').append(hex(r.words[i])).append(' ');
            }
        }
        return b.append('}').toString();
    }

    @Override
    public String toString() {
        return "SMMUv3 " + name + " " + hw;
    }
}
