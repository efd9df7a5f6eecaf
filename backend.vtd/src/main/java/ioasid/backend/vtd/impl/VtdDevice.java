package ioasid.backend.vtd.impl;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.spi.DeviceInfo;

/*
 * One endpoint behind the unit as the driver keeps it (struct device_domain_info): its requester
 * ID, its context entry, its PASID table in scalable mode, and the domains installed at RID_PASID
 * and at its PASIDs. Guarded by the driver's lock.
 *
 * Rules:
 *  1. Scalable mode: the context entry points at the device's PASID directory and is set up once,
 *     before the device's first PASID entry; DMA without PASID uses the RID_PASID entry (PASID 0).
 *     The non-present to present change is followed, in caching mode, by a context-cache
 *     invalidation and a flush of DID 0 of the IOTLB, otherwise by a write-buffer flush.
 *  2. Legacy mode (no ECAP.SMTS) programs the context entry itself: the domain's table, or pass
 *     through. Clearing it (domain_context_clear_one) invalidates the context-cache and the IOTLB
 *     of the DID it held, then the device-TLB.
 *  3. Release (intel_iommu_release_device) tears down every PASID entry, then RID_PASID's, clears
 *     the context entry and frees the tables.
 */
final class VtdDevice {
    private static final Pattern PCI_ADDRESS =
            Pattern.compile("(?:[0-9a-fA-F]{4}:)?([0-9a-fA-F]{2}):([01][0-9a-fA-F])\\.([0-7])");

    final DeviceInfo info;
    final int rid;
    /** Scalable mode only. */
    final PasidTable table;
    VtdDomain domain;
    final TreeMap<Integer, VtdDomain> pasids = new TreeMap<>();
    boolean contextSet;
    private final DmarUnit unit;
    private final CacheFlush flush;

    VtdDevice(DeviceInfo info, DmarUnit unit, CacheFlush flush) {
        this.info = info;
        this.rid = (int) info.streamId();
        this.unit = unit;
        this.flush = flush;
        this.table = unit.scalable()
                ? new PasidTable(unit, flush, info.name(), rid, maxPasid(info, unit)) : null;
    }

    /** PASIDs a device's table covers: min(device capability, unit), at least RID_PASID. */
    private static int maxPasid(DeviceInfo info, DmarUnit unit) {
        int dev = info.pasidBits() > 0 ? 1 << info.pasidBits() : 0;
        return Math.max(1, Math.min(dev, unit.maxPasids()));
    }

    /**
     * Parses and checks a configured device list. Devices without a {@code sid} get the RID their
     * PCI address names ({@code [domain:]bus:dev.fn}), or else 00:01.0, 00:02.0, ... by list
     * position.
     */
    static List<DeviceInfo> parse(String[] specs) {
        List<DeviceInfo> out = new ArrayList<>();
        if (specs != null) {
            for (int i = 0; i < specs.length; i++) {
                try {
                    String name = specs[i] == null ? "" : specs[i].split(";", 2)[0].trim();
                    Matcher pci = PCI_ADDRESS.matcher(name);
                    long rid = pci.matches() ? Integer.parseInt(pci.group(1), 16) << 8
                            | Integer.parseInt(pci.group(2), 16) << 3
                            | Integer.parseInt(pci.group(3)) : (long) (i + 1) << 3;
                    out.add(DeviceInfo.parse(specs[i], rid));
                } catch (IllegalArgumentException e) {
                    throw new IoasidException(Errno.EINVAL, e.getMessage(), e);
                }
            }
        }
        validate(out);
        return out;
    }

    /** Checks a device list without changing anything. */
    static void validate(List<DeviceInfo> list) {
        Set<String> names = new HashSet<>();
        Set<Long> rids = new HashSet<>();
        for (DeviceInfo d : list) {
            if (d.streamId() > 0xffff) {
                throw new IoasidException(Errno.EINVAL, "device " + d.name() + ": StreamID 0x"
                        + Long.toHexString(d.streamId()) + " is not a PCI requester ID");
            }
            if (!names.add(d.name())) {
                throw new IoasidException(Errno.EINVAL, "device " + d.name() + " listed twice");
            }
            if (!rids.add(d.streamId())) {
                throw new IoasidException(Errno.EINVAL, "device " + d.name() + ": RID "
                        + DmarUnit.rid((int) d.streamId()) + " used twice");
            }
        }
    }

    String name() {
        return info.name();
    }

    private boolean pasidCapable() {
        return info.pasidBits() > 0 && unit.maxPasids() > 0;
    }

    /**
     * The scalable-mode context entry, once per device: PASID directory, its size, DTE with ATS,
     * PASIDE with PASID support, RID_PASID 0.
     */
    void setUpContext() {
        if (contextSet) {
            return;
        }
        DmarUnit.CtxSlot slot = unit.context(rid, true);
        slot.write(DmarUnit.smContext(table.dirAddress(), table.pdts(), unit.devTlb(),
                pasidCapable(), 0));
        contextSet = true;
        flush.clflush(slot.pa(), DmarUnit.SM_CTX_LONGS * Long.BYTES, Command.FLUSH_CONTEXT);
        if (unit.cachingMode()) {
            flush.submit(Command.contextCache(Command.CC_DEVICE, VtdDriver.DID_RESERVED, rid));
            flush.submit(Command.iotlbDomain(VtdDriver.DID_RESERVED));
        } else {
            flush.writeBuffer();
        }
    }

    /** Legacy mode: the context entry points at the domain's table (or passes through). */
    void legacySet(VtdDomain dom) {
        DmarUnit.CtxSlot slot = unit.context(rid, true);
        int tt = dom.type() == DomainType.IDENTITY ? DmarUnit.CTX_TT_PASS_THROUGH
                : unit.devTlb() ? DmarUnit.CTX_TT_DEV_IOTLB : DmarUnit.CTX_TT_TRANSLATED;
        long slptptr = dom.table() != null ? dom.table().root() : 0;
        slot.write(DmarUnit.legacyContext(slptptr, tt, dom.did(), VtdParams.AGAW_48));
        flush.clflush(slot.pa(), DmarUnit.CTX_LONGS * Long.BYTES, Command.FLUSH_CONTEXT);
        if (unit.cachingMode()) {
            flush.submit(Command.contextCache(Command.CC_DEVICE, VtdDriver.DID_RESERVED, rid));
            flush.submit(Command.iotlbDomain(dom.did()));
        } else {
            flush.writeBuffer();
        }
    }

    /** Legacy mode: domain_context_clear_one. */
    void legacyClear() {
        DmarUnit.CtxSlot slot = unit.context(rid, false);
        if (slot == null) {
            return;
        }
        long[] old = slot.read();
        if ((old[0] & DmarUnit.CTX_P) == 0) {
            return;
        }
        int didOld = DmarUnit.legacyDid(old);
        slot.write(new long[DmarUnit.CTX_LONGS]);
        flush.clflush(slot.pa(), DmarUnit.CTX_LONGS * Long.BYTES, Command.FLUSH_CONTEXT);
        flush.submit(Command.contextCache(Command.CC_DEVICE, didOld, rid));
        flush.submit(Command.iotlbDomain(didOld));
        flush.devTlb(rid, 0);
    }

    /** Takes everything the unit holds for the device away; the driver's books are its own. */
    void release() {
        if (!unit.scalable()) {
            legacyClear();
            return;
        }
        for (int pasid : new ArrayList<>(pasids.keySet())) {
            table.tearDown(pasid);
        }
        table.tearDown(0);
        if (contextSet) {
            DmarUnit.CtxSlot slot = unit.context(rid, false);
            slot.write(new long[DmarUnit.SM_CTX_LONGS]);
            flush.clflush(slot.pa(), DmarUnit.SM_CTX_LONGS * Long.BYTES, Command.FLUSH_CONTEXT);
            flush.submit(Command.contextCache(Command.CC_DEVICE, VtdDriver.DID_RESERVED, rid));
        }
        table.release();
    }
}
