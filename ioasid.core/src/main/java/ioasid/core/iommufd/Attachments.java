package ioasid.core.iommufd;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.core.iommufd.Iova.err;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.iommu.IommuService;
import ioasid.core.iommufd.Device.PasidAttach;

/*
 * Devices attached to HWPTs and IOASes, without PASID and per PASID: the kernel's device.c.
 *
 * Rules:
 *  1. A target is a HWPT or an IOAS; any other object is EINVAL (iommufd_device_change_pt).
 *  2. To an IOAS: the first HWPT made by attach for it that takes the device, trying them
 *     oldest first, where EINVAL means "incompatible, try the next" and any other errno fails;
 *     else a new auto HWPT for the device, destroyed again if the step fails
 *     (iommufd_device_auto_get_domain, rule 128).
 *  3. A group is attached once, with its first device; its other devices must attach to the
 *     same HWPT (EINVAL), and it is detached with its last (rule 128).
 *  4. Attach of an attached device is EBUSY (its slot in the group is taken); replace of a
 *     device not attached is EINVAL; detach of one does nothing; replace to the current HWPT
 *     does nothing; a replace is the IOMMU core's one-step replace, so a failed one leaves the
 *     group or PASID on its old HWPT (rule 128).
 *  5. A PASID is attached once per device (EBUSY); replacing one not attached is EINVAL;
 *     detaching one not attached does nothing (rule 130).
 *  6. Every detach or replace gives its HWPT back, which destroys an auto HWPT left unused
 *     (rule 127).
 *  7. Hardware that left is not asked to detach (D33).
 */
final class Attachments {
    /** What one attach step does to a device and a HWPT. */
    private interface Step {
        void apply(Device d, Hwpt h);
    }

    /** The context's view of one IOMMU group: iommufd_group. */
    private static final class Igroup {
        Hwpt hwpt;
        final List<Device> devices = new ArrayList<>();
    }

    private final IommuService iommu;
    private final ObjectTable table;
    private final Hwpts hwpts;
    private final Map<Integer, Igroup> groups = new HashMap<>();

    Attachments(IommuService iommu, ObjectTable table, Hwpts hwpts) {
        this.iommu = iommu;
        this.table = table;
        this.hwpts = hwpts;
    }

    /** Rule 4. */
    Hwpt attach(Device d, int ptId) {
        if (d.hwpt != null) {
            throw err(EBUSY, d + " is attached to " + d.hwpt + " already: replace it");
        }
        return changePt(d, ptId, this::doAttach);
    }

    /** Rule 4. */
    Hwpt replace(Device d, int ptId) {
        if (d.hwpt == null) {
            throw err(EINVAL, d + " is not attached");
        }
        return changePt(d, ptId, this::doReplace);
    }

    /** Rules 3, 4, 6, 7. */
    void detach(Device d) {
        Hwpt h = d.hwpt;
        if (h == null) {
            return;
        }
        Igroup ig = groups.get(d.group.id());
        if (ig.devices.size() == 1 && h.live()) {
            iommu.detachGroup(h.domain, d.group);
        }
        ig.devices.remove(d);
        if (ig.devices.isEmpty()) {
            groups.remove(d.group.id());
        }
        d.hwpt = null;
        h.devices--;
        hwpts.put(h);
    }

    /** Rule 5. */
    Hwpt attachPasid(Device d, IoasidHandle pasid, int ptId) {
        if (d.pasids.containsKey(pasid.id())) {
            throw err(EBUSY, d + " has PASID " + pasid.id() + " attached already: replace it");
        }
        return changePt(d, ptId, (dev, h) -> {
            iommu.attachDevicePasid(h.domain, dev.name, pasid);
            dev.pasids.put(pasid.id(), new PasidAttach(pasid, h));
            h.pasids++;
        });
    }

    /** Rules 5, 6. */
    Hwpt replacePasid(Device d, IoasidHandle pasid, int ptId) {
        PasidAttach pa = d.pasids.get(pasid.id());
        if (pa == null) {
            throw err(EINVAL, d + " has no PASID " + pasid.id() + " attached");
        }
        return changePt(d, ptId, (dev, h) -> {
            Hwpt old = pa.hwpt;
            if (old == h) {
                return;
            }
            iommu.replaceDevicePasid(h.domain, dev.name, pa.pasid);
            pa.hwpt = h;
            h.pasids++;
            old.pasids--;
            hwpts.put(old);
        });
    }

    /** Rules 5, 6, 7. */
    void detachPasid(Device d, IoasidHandle pasid) {
        PasidAttach pa = d.pasids.get(pasid.id());
        if (pa == null) {
            return;
        }
        if (pa.hwpt.live()) {
            iommu.detachDevicePasid(pa.hwpt.domain, d.name, pa.pasid);
        }
        d.pasids.remove(pasid.id());
        pa.hwpt.pasids--;
        hwpts.put(pa.hwpt);
    }

    /** Rule 1. */
    private Hwpt changePt(Device d, int ptId, Step step) {
        IommufdObject target = table.get(ptId);
        if (target instanceof Hwpt h) {
            step.apply(d, h);
            return h;
        }
        if (target instanceof Ioas ioas) {
            return autoGetDomain(d, ioas, step);
        }
        throw err(EINVAL, target + " is neither a HWPT nor an IOAS");
    }

    /** Rule 2. */
    private Hwpt autoGetDomain(Device d, Ioas ioas, Step step) {
        for (Hwpt h : ioas.hwpts()) {
            if (!h.auto || !h.live()) {
                continue;
            }
            try {
                step.apply(d, h);
                return h;
            } catch (IoasidException e) {
                if (e.errno() != Errno.EINVAL) {
                    throw e;
                }
            }
        }
        Hwpt h = hwpts.create(d, ioas, false, true);
        try {
            step.apply(d, h);
        } catch (RuntimeException e) {
            hwpts.destroy(h);
            throw e;
        }
        return h;
    }

    /** Rule 3: iommufd_hw_pagetable_attach. */
    private void doAttach(Device d, Hwpt h) {
        Igroup ig = groups.get(d.group.id());
        if (ig != null && ig.hwpt != h) {
            throw err(EINVAL, "the group of " + d.name + " is attached to " + ig.hwpt);
        }
        if (ig == null) {
            iommu.attachGroup(h.domain, d.group);
            ig = new Igroup();
            ig.hwpt = h;
            groups.put(d.group.id(), ig);
        }
        ig.devices.add(d);
        d.hwpt = h;
        h.devices++;
    }

    /** Rules 4, 6: iommufd_device_do_replace; the whole group moves. */
    private void doReplace(Device d, Hwpt h) {
        Igroup ig = groups.get(d.group.id());
        Hwpt old = ig.hwpt;
        if (old == h) {
            return;
        }
        iommu.replaceGroupDomain(d.group, h.domain);
        for (Device each : ig.devices) {
            each.hwpt = h;
        }
        h.devices += ig.devices.size();
        old.devices -= ig.devices.size();
        ig.hwpt = h;
        hwpts.put(old);
    }
}
