package ioasid.core.iommufd;

import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.core.iommufd.Iova.err;

import ioasid.api.IoasidException;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.Vdevice;

/*
 * vIOMMU and vDevice objects over the IOMMU core's vIOMMUs (iommufd's viommu.c).
 *
 * Rules:
 *  1. A vIOMMU sits on a nesting-parent HWPT (else EINVAL) and holds it (rule 89).
 *  2. A vDevice holds its vIOMMU; a device has one vDevice at most (EEXIST) (rule 90).
 *  3. Destroying a vIOMMU with vDevices is EBUSY: the caller checks users() (rule 92).
 *  4. A device that is unbound takes its vDevice with it and leaves a tombstone: the vDevice's
 *     ID answers ENOENT and is not handed out again until the context closes (rule 129).
 *  5. Objects whose hardware left are dropped without calling it (D33).
 */
final class Viommus {
    private static final System.Logger LOG = System.getLogger("ioasid.iommufd");

    private final IommuService iommu;
    private final ObjectTable table;

    Viommus(IommuService iommu, ObjectTable table) {
        this.iommu = iommu;
        this.table = table;
    }

    /** Rule 1. */
    Viommu alloc(Device d, Hwpt parent) {
        if (!parent.nestParent) {
            throw err(EINVAL, parent + " is not a nesting parent");
        }
        Viommu v = new Viommu(iommu.viommuAlloc(d.name, parent.domain), parent);
        parent.viommus++;
        return table.insert(v);
    }

    /** Rules 3, 5. */
    void destroy(Viommu v) {
        if (v.viommu.live()) {
            quietly(() -> iommu.viommuDestroy(v.viommu), v);
        }
        v.parent.viommus--;
        table.remove(v);
    }

    /** Rule 2. */
    Vdev allocVdevice(Viommu v, Device d, long virtId) {
        if (d.vdev != null) {
            throw err(EEXIST, d + " has " + d.vdev + " already");
        }
        Vdevice vd = iommu.vdeviceAlloc(v.viommu, d.name, virtId);
        Vdev o = new Vdev(vd, v, d);
        v.vdevices++;
        d.vdev = o;
        return table.insert(o);
    }

    /** Rules 4, 5: with {@code tombstone}, its ID stays taken. */
    void destroyVdevice(Vdev o, boolean tombstone) {
        if (o.vdevice.live()) {
            quietly(() -> iommu.vdeviceDestroy(o.vdevice), o);
        }
        o.viommu.vdevices--;
        o.device.vdev = null;
        if (tombstone) {
            table.tombstone(o);
        } else {
            table.remove(o);
        }
    }

    /** The core's object may have died between the live() check and the call (D33). */
    private static void quietly(Runnable call, IommufdObject o) {
        try {
            call.run();
        } catch (IoasidException e) {
            LOG.log(System.Logger.Level.DEBUG, "teardown of " + o + ": " + e);
        }
    }
}
