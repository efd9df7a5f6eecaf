package ioasid.core.iommufd;

import java.util.Map;
import java.util.TreeMap;

import ioasid.api.IoasidHandle;
import ioasid.api.iommu.IommuGroup;
import ioasid.api.iommufd.IommufdObjectDTO;
import ioasid.api.iommufd.ObjectType;

/*
 * A device bound to the context, its DMA ownership claimed for the context.
 *
 * Rules:
 *  1. It has at most one HWPT for its DMA without PASID, and one per PASID (rule 128).
 *  2. It has at most one vDevice in the whole platform (rule 90).
 *  3. A bound device is never destroyed by IOMMU_DESTROY: its driver holds it (users() is
 *     always 1), and it goes by unbinding (rule 128, D34).
 */
final class Device extends IommufdObject {
    /** One PASID attachment: the handle the caller gave and the HWPT. */
    static final class PasidAttach {
        final IoasidHandle pasid;
        Hwpt hwpt;

        PasidAttach(IoasidHandle pasid, Hwpt hwpt) {
            this.pasid = pasid;
            this.hwpt = hwpt;
        }
    }

    final String name;
    final IommuGroup group;
    /** Rule 1: the HWPT of its DMA without PASID, or null. */
    Hwpt hwpt;
    /** Rule 1: by PASID number. */
    final Map<Integer, PasidAttach> pasids = new TreeMap<>();
    /** Rule 2. */
    Vdev vdev;

    Device(String name, IommuGroup group) {
        this.name = name;
        this.group = group;
    }

    @Override
    ObjectType type() {
        return ObjectType.DEVICE;
    }

    /** Rule 3. */
    @Override
    int users() {
        return 1;
    }

    @Override
    IommufdObjectDTO dto() {
        IommufdObjectDTO d = super.dto();
        d.device = name;
        d.hwptId = hwpt == null ? 0 : hwpt.id();
        d.pasids = pasids.values().stream().map(p -> p.pasid.id() + "=" + p.hwpt.id())
                .toArray(String[]::new);
        return d;
    }
}
