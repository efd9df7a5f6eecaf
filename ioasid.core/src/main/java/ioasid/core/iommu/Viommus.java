package ioasid.core.iommu;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;
import static ioasid.core.iommu.IommuState.checkLive;
import static ioasid.core.iommu.IommuState.err;

import java.util.ArrayList;

import ioasid.api.Errno;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.Vdevice;
import ioasid.api.iommu.Viommu;
import ioasid.api.iommu.spi.BackendVdevice;
import ioasid.api.iommu.spi.BackendViommu;

/*
 * vIOMMUs and their vDevices, as iommufd/viommu.c keeps them: a vIOMMU on a nesting-parent
 * domain, and per vIOMMU a table of virtual IDs to physical devices.
 *
 * Rules:
 *  1. A vIOMMU is built on a live caller domain that is a nesting parent on the device's IOMMU,
 *     and holds that domain while it lives (rule 89).
 *  2. A vDevice needs the vIOMMU's IOMMU and a device not going away (ENOENT); a device has one
 *     vDevice, and a virtual ID one device, its slot taken by compare-and-exchange (rule 90).
 *     Every error path gives back what it took (known bug 13).
 *  3. Destroying a vDevice runs the driver's destroy, then frees the slot, then the device's
 *     link (rule 91).
 *  4. A vIOMMU with vDevices is not destroyed (EBUSY, rule 92); teardown destroys them first,
 *     and a device that leaves takes its vDevice with it (rule 94).
 *  5. Lookups in either direction answer ENOENT for what is not there (rule 93).
 *  6. A destroyed vIOMMU or vDevice is ENOENT, as iommufd's object lookup answers; null or another
 *     core's is EINVAL (D20). A vDevice its device's departure destroyed is a tombstone: its
 *     handle stays, not live, and destroying it is ENOENT, as for iommufd's tombstoned vDevice
 *     ID (D22). A freed parent domain is ENOENT to viommuAlloc (D20).
 */
final class Viommus {
    private static final System.Logger LOG = System.getLogger("ioasid.iommu");

    private final IommuState state;

    Viommus(IommuState state) {
        this.state = state;
    }

    Viommu viommuAlloc(String device, IommuDomain nestingParent) {
        state.lock();
        try {
            DeviceEntry dev = state.presentDevice(device);
            DomainImpl p = state.own(nestingParent);
            checkLive(p);
            if (!p.nestingParent || p.role != DomainImpl.Role.CALLER) {
                throw err(EINVAL, p + " is not a nesting parent");
            }
            if (p.backend != dev.backend) {
                throw err(EINVAL, p + " is not on the IOMMU of " + device);
            }
            BackendViommu hw = dev.backend.backend.viommuAlloc(p.hw);
            if (hw == null) {
                throw err(Errno.EIO, dev.backend + " returned no vIOMMU");
            }
            ViommuImpl v = new ViommuImpl(state, state.nextViommuId++, dev.backend, p, hw);
            state.viommus.put(v.id, v);
            p.viommus++; // the vIOMMU holds its parent (rule 89)
            return v;
        } finally {
            state.unlock();
        }
    }

    /** Rule 6. */
    private ViommuImpl live(Viommu viommu) {
        if (!(viommu instanceof ViommuImpl v) || v.owner != state) {
            throw err(EINVAL, viommu + " is not a vIOMMU of this IOMMU core");
        }
        if (!v.live) {
            throw err(ENOENT, v + " was destroyed");
        }
        return v;
    }

    void viommuDestroy(Viommu viommu) {
        state.lock();
        try {
            ViommuImpl v = live(viommu);
            if (!v.vdevs.isEmpty()) {
                throw err(EBUSY, v + " still has " + v.vdevs.size() + " vDevices (rule 92)");
            }
            destroyViommu(v);
        } finally {
            state.unlock();
        }
    }

    void viommuTeardown(Viommu viommu) {
        state.lock();
        try {
            ViommuImpl v = live(viommu);
            for (VdeviceImpl vd : new ArrayList<>(v.vdevs.values())) {
                destroyVdevice(vd, true);
            }
            destroyViommu(v);
        } finally {
            state.unlock();
        }
    }

    private void destroyViommu(ViommuImpl v) {
        BackendViommu hw = v.hw;
        v.live = false;
        v.hw = null;
        state.viommus.remove(v.id);
        v.parent.viommus--;
        try {
            hw.destroy();
        } catch (RuntimeException e) {
            v.backend.faults.driver();
            LOG.log(System.Logger.Level.WARNING, v + " failed to destroy: " + e.getMessage());
        }
    }

    Vdevice vdeviceAlloc(Viommu viommu, String device, long virtId) {
        state.lock();
        try {
            ViommuImpl v = live(viommu);
            DeviceEntry dev = state.device(device);
            if (dev.backend == null || dev.group == null) {
                throw err(ENOENT, "device " + device + " is going away");
            }
            if (dev.backend != v.backend) {
                throw err(EINVAL, "device " + device + " is behind " + dev.backend.name
                        + ", the vIOMMU behind " + v.backend.name);
            }
            if (dev.vdevice != null) {
                throw err(EEXIST, "device " + device + " already has " + dev.vdevice);
            }
            VdeviceImpl vd = new VdeviceImpl(v, dev, virtId);
            // rule 90: the virtual ID slot is taken by compare-and-exchange
            VdeviceImpl taken = v.vdevs.putIfAbsent(virtId, vd);
            if (taken != null) {
                throw err(EEXIST, "virtual ID 0x" + Long.toUnsignedString(virtId, 16)
                        + " is taken by " + taken.device.name);
            }
            try {
                vd.hw = v.hw.vdeviceInit(device, virtId);
            } catch (RuntimeException e) {
                v.vdevs.remove(virtId, vd); // known bug 13: every error path gives back what it took
                throw v.backend.faults.passed(e);
            }
            dev.vdevice = vd;
            return vd;
        } finally {
            state.unlock();
        }
    }

    void vdeviceDestroy(Vdevice vdevice) {
        state.lock();
        try {
            if (!(vdevice instanceof VdeviceImpl vd) || vd.viommu.owner != state) {
                throw err(EINVAL, vdevice + " is not a vDevice of this IOMMU core");
            }
            if (!vd.live) {
                throw err(ENOENT, "no live vDevice: " + vd); // a tombstone says so (D22)
            }
            destroyVdevice(vd, true);
        } finally {
            state.unlock();
        }
    }

    /** Rule 6: its device went away; the handle is left a tombstone (D22). */
    void tombstone(VdeviceImpl vd, boolean backendPresent) {
        vd.tombstone = true;
        destroyVdevice(vd, backendPresent);
    }

    /** Rule 91: the driver's destroy, then the slot by compare-and-exchange, then the device's link. */
    void destroyVdevice(VdeviceImpl vd, boolean backendPresent) {
        BackendVdevice hw = vd.hw;
        vd.live = false;
        vd.hw = null;
        if (backendPresent && hw != null) {
            try {
                hw.destroy();
            } catch (RuntimeException e) {
                vd.viommu.backend.faults.driver();
                LOG.log(System.Logger.Level.WARNING, vd + " failed to destroy: " + e.getMessage());
            }
        }
        vd.viommu.vdevs.remove(vd.virtId, vd);
        if (vd.device.vdevice == vd) {
            vd.device.vdevice = null;
        }
    }

    String vdeviceFind(Viommu viommu, long virtId) {
        state.lock();
        try {
            VdeviceImpl vd = live(viommu).vdevs.get(virtId);
            if (vd == null) {
                throw err(ENOENT, "no device has virtual ID 0x" + Long.toUnsignedString(virtId, 16));
            }
            return vd.device.name;
        } finally {
            state.unlock();
        }
    }

    long vdeviceId(Viommu viommu, String device) {
        state.lock();
        try {
            for (VdeviceImpl vd : live(viommu).vdevs.values()) {
                if (vd.device.name.equals(device)) {
                    return vd.virtId;
                }
            }
            throw err(ENOENT, "device " + device + " has no virtual ID in " + viommu);
        } finally {
            state.unlock();
        }
    }

    /** The vIOMMUs on a domain whose backend left: dead, with their vDevices; no backend call. */
    void parentGone(DomainImpl d) {
        for (ViommuImpl v : new ArrayList<>(state.viommus.values())) {
            if (v.parent == d) {
                for (VdeviceImpl vd : new ArrayList<>(v.vdevs.values())) {
                    destroyVdevice(vd, false);
                }
                v.live = false;
                v.hw = null;
                state.viommus.remove(v.id);
            }
        }
    }
}
