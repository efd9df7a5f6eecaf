package ioasid.core.iommu;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.core.iommu.IommuState.checkLive;
import static ioasid.core.iommu.IommuState.err;

import java.util.ArrayList;
import java.util.List;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidState;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.spi.EventType;

/*
 * PASIDs: global PASIDs handed to callers, and the attachment of a PASID of a group to a domain
 * (the group's pasid_array), which SVA binds and private PASIDs use as well.
 *
 * Rules:
 *  1. PASIDs come from the IOASID service. A global PASID is allocated in [1, max_pasids - 1]
 *     of the device, none for a device without PASID support (rules 33-34, known bug 9).
 *  2. An attachment is checked in the kernel's order (rule 38): a domain that can take PASIDs,
 *     the device's IOMMU, a live PASID other than 0 (NO_PASID), below every group device's
 *     max_pasids, of this platform's IOASID space; then EBUSY when the group has it attached.
 *  3. A PASID is set on every device of the group or on none; detaching clears it on every
 *     device (rules 38, 39).
 *  4. An attached PASID holds a reference, taken before any FREE can arrive (rule 87). BIND goes
 *     out at its first attachment and UNBIND after its last (S6); both, and the puts, run after
 *     the mutex.
 *  5. Detaching a PASID that is not attached in the group is tolerated, as iommufd does: no
 *     error, no change (D21). Attached to another domain it stays EINVAL (rule 39's WARN, D2).
 *  6. Replace moves an attached caller PASID to another domain on every device of the group or
 *     on none: each backend gets the old domain, and the devices already switched go back to it
 *     when one fails (iommu_replace_device_pasid). The PASID stays attached: no BIND, no UNBIND,
 *     no reference taken or dropped. A PASID not attached is EINVAL; its own domain a no-op.
 */
final class Pasids {
    private static final System.Logger LOG = System.getLogger("ioasid.iommu");

    private final IommuState state;

    Pasids(IommuState state) {
        this.state = state;
    }

    int maxPasids(String device) {
        state.lock();
        try {
            return state.presentDevice(device).maxPasids;
        } finally {
            state.unlock();
        }
    }

    IoasidHandle allocGlobalPasid(String device) {
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
        IoasidHandle h = state.ioasid.alloc(state.pasidSet, 1, max - 1, device);
        state.lock();
        try {
            state.globalPasids.add(h);
        } finally {
            state.unlock();
        }
        return h;
    }

    /** Forgets a PASID of allocGlobalPasid, before it is detached and freed; EINVAL otherwise. */
    void forgetGlobal(IoasidHandle pasid) {
        if (pasid == null || !state.globalPasids.remove(pasid)) {
            throw err(EINVAL, "PASID " + (pasid == null ? null : pasid.id())
                    + " was not allocated by allocGlobalPasid, or was freed");
        }
    }

    /** A live caller's or default domain that may take a PASID (rule 38). Under the lock. */
    private DomainImpl pasidDomain(IommuDomain domain) {
        DomainImpl d = state.own(domain);
        checkLive(d);
        if (d.type == DomainType.BLOCKED) {
            throw err(EOPNOTSUPP, d + " cannot be attached per PASID");
        }
        if (d.role != DomainImpl.Role.CALLER && d.role != DomainImpl.Role.DEFAULT) {
            throw err(EINVAL, d + " is managed by an SVA bind or a private PASID");
        }
        return d;
    }

    void attachDevicePasid(IommuDomain domain, String device, IoasidHandle pasid) {
        state.lock();
        try {
            DomainImpl d = pasidDomain(domain);
            DeviceEntry dev = state.presentDevice(device);
            checkPasidFits(d, dev, pasid);
            attachPasid(dev.group, d, pasid, PasidAttach.Kind.CALLER);
        } finally {
            state.unlock();
        }
    }

    private IoasidHandle lookup(int id) {
        try {
            return state.ioasid.find(null, id);
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
    PasidAttach attachPasid(GroupImpl g, DomainImpl d, IoasidHandle pasid,
            PasidAttach.Kind kind) {
        int id = pasid.id();
        if (g.pasids.containsKey(id)) {
            throw err(EBUSY, "PASID " + id + " is attached in " + g + " already");
        }
        try {
            state.ioasid.get(pasid); // references are taken before any FREE can arrive (rule 87)
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
                        be.faults.driver();
                        LOG.log(System.Logger.Level.ERROR, "undoing PASID " + id + " on "
                                + done.get(i).name + " failed: " + undo);
                    }
                }
                state.actions.add(() -> putQuietly(pasid));
                be.faults.passed(e);
                throw e instanceof IoasidException ie ? ie
                        : new IoasidException(Errno.EIO, "setting PASID " + id + " on " + dv.name
                                + " failed: " + e, e);
            }
        }
        be.ops.attaches.add(done.size());
        PasidAttach pa = new PasidAttach(g, pasid, d, kind);
        g.pasids.put(pa.key, pa);
        d.pasids.add(pa);
        if (state.bind(pasid, g)) {
            state.actions.add(() -> notifyQuietly(pasid, EventType.BIND));
        }
        return pa;
    }

    void detachDevicePasid(IommuDomain domain, String device, IoasidHandle pasid) {
        state.lock();
        try {
            DomainImpl d = state.own(domain);
            if (d.freed) {
                throw IommuState.gone(d); // D20
            }
            DeviceEntry dev = state.presentDevice(device);
            if (pasid == null || pasid.state() == IoasidState.FREE || lookup(pasid.id()) != pasid
                    || d.backend != dev.backend) {
                // bad arguments stay EINVAL: only a valid PASID with no attachment is tolerated
                throw err(EINVAL, "no PASID, a stale one, one of another IOASID space, or "
                        + d + " of another IOMMU than " + device);
            }
            PasidAttach pa = dev.group.pasids.get(pasid.id());
            if (pa == null) {
                return; // rule 5: iommufd tolerates detaching what is not attached
            }
            if (pa.domain != d || pa.handle != pasid) {
                throw err(EINVAL, "PASID " + pasid.id() + " of " + device + " is attached to "
                        + pa.domain + (pa.handle != pasid ? " through another handle" : "")
                        + ", not " + d);
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

    void replaceDevicePasid(IommuDomain domain, String device, IoasidHandle pasid) {
        state.lock();
        try {
            DomainImpl d = pasidDomain(domain);
            DeviceEntry dev = state.presentDevice(device);
            checkPasidFits(d, dev, pasid);
            PasidAttach pa = dev.group.pasids.get(pasid.id());
            if (pa == null) {
                throw err(EINVAL, "PASID " + pasid.id() + " of " + device
                        + " is not attached: attach it first");
            }
            if (pa.kind != PasidAttach.Kind.CALLER) {
                throw err(EINVAL, "PASID " + pa.pasid + " of " + device + " belongs to an "
                        + pa.kind.label + " handle");
            }
            if (pa.domain != d) {
                replacePasid(pa, d);
            }
        } finally {
            state.unlock();
        }
    }

    /** Rule 6: every device of the group to {@code d}, or back to the old domain. */
    private void replacePasid(PasidAttach pa, DomainImpl d) {
        BackendEntry be = pa.group.devices.get(0).backend;
        DomainImpl old = pa.domain;
        List<DeviceEntry> done = new ArrayList<>();
        for (DeviceEntry dv : pa.group.devices) {
            try {
                be.backend.replaceDevPasid(dv.name, pa.pasid, old.hw, d.hw);
                done.add(dv);
            } catch (RuntimeException e) {
                for (DeviceEntry back : done) {
                    try {
                        be.backend.replaceDevPasid(back.name, pa.pasid, d.hw, old.hw);
                    } catch (RuntimeException undo) {
                        be.faults.driver();
                        // a driver bug: the entry must take its old domain back; clear it rather
                        // than leave it on a domain the core does not record (D18)
                        LOG.log(System.Logger.Level.ERROR, "putting PASID " + pa.pasid + " of "
                                + back.name + " back on " + old + " failed: " + undo);
                        removeQuietly(be, back, pa.pasid, d);
                    }
                }
                be.faults.passed(e);
                throw e instanceof IoasidException ie ? ie
                        : new IoasidException(Errno.EIO, "replacing PASID " + pa.pasid + " of "
                                + dv.name + " failed: " + e, e);
            }
        }
        be.ops.attaches.add(done.size());
        PasidAttach moved = new PasidAttach(pa.group, pa.handle, d, pa.kind);
        pa.group.pasids.put(moved.key, moved);
        old.pasids.remove(pa);
        d.pasids.add(moved);
    }

    private static void removeQuietly(BackendEntry be, DeviceEntry dv, int pasid, DomainImpl d) {
        try {
            be.backend.removeDevPasid(dv.name, pasid, d.hw);
        } catch (RuntimeException e) {
            be.faults.driver();
            LOG.log(System.Logger.Level.ERROR, "clearing PASID " + pasid + " of " + dv.name
                    + " failed too: " + e);
        }
    }

    /** Clears the PASID on every device of its group and drops the attachment. */
    void detachPasid(PasidAttach pa) {
        BackendEntry be = pa.group.devices.get(0).backend;
        for (DeviceEntry dv : pa.group.devices) {
            try {
                be.backend.removeDevPasid(dv.name, pa.pasid, pa.domain.hw);
            } catch (RuntimeException e) {
                be.faults.driver();
                LOG.log(System.Logger.Level.WARNING, "removing PASID " + pa.pasid + " of "
                        + dv.name + " failed: " + e.getMessage());
            }
        }
        dropAttach(pa);
    }

    /** Forgets an attachment; UNBIND after the PASID's last one, and the reference goes. */
    void dropAttach(PasidAttach pa) {
        pa.group.pasids.remove(pa.key);
        pa.domain.pasids.remove(pa);
        IoasidHandle h = pa.handle;
        if (state.unbind(h, pa.group)) {
            state.actions.add(() -> notifyQuietly(h, EventType.UNBIND));
        }
        state.actions.add(() -> putQuietly(h));
    }

    /**
     * Forgets many attachments at once, as {@link #dropAttach} each in turn, with one piece of
     * work after the mutex for all their UNBINDs and puts, in the same order: a group whose
     * backend left may hold ten thousand, and two queued closures each were most of what its
     * departure allocated.
     */
    void dropAttaches(List<PasidAttach> all) {
        int n = all.size();
        if (n == 0) {
            return;
        }
        IoasidHandle[] handles = new IoasidHandle[n];
        boolean[] unbind = new boolean[n];
        for (int i = 0; i < n; i++) {
            PasidAttach pa = all.get(i);
            pa.group.pasids.remove(pa.key);
            pa.domain.pasids.remove(pa);
            handles[i] = pa.handle;
            unbind[i] = state.unbind(pa.handle, pa.group);
        }
        state.actions.add(() -> {
            for (int i = 0; i < n; i++) {
                // one failure costs its own PASID, as it would as a piece of work of its own
                try {
                    if (unbind[i]) {
                        notifyQuietly(handles[i], EventType.UNBIND);
                    }
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "IOMMU deferred work failed", e);
                }
                try {
                    putQuietly(handles[i]);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "IOMMU deferred work failed", e);
                }
            }
        });
    }

    private void putQuietly(IoasidHandle h) {
        try {
            state.ioasid.put(h);
        } catch (IoasidException e) {
            LOG.log(System.Logger.Level.WARNING, "dropping the IOMMU's reference on PASID "
                    + h.id() + ": " + e.getMessage());
        }
    }

    private void notifyQuietly(IoasidHandle h, EventType type) {
        try {
            state.ioasid.notify(h, type);
        } catch (IoasidException e) {
            if (e.errno() != ENOENT) {
                LOG.log(System.Logger.Level.WARNING, type + " for PASID " + h.id() + ": "
                        + e.getMessage());
            }
        }
    }
}
