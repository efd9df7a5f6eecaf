package ioasid.core.iommufd;

import ioasid.api.iommufd.IommufdObjectDTO;
import ioasid.api.iommufd.ObjectType;

/*
 * A vIOMMU object: the IOMMU core's vIOMMU on a nesting-parent HWPT.
 *
 * Rules:
 *  1. It holds its parent HWPT for as long as it lives (rule 89).
 *  2. It is in use while it has vDevices (rule 92).
 */
final class Viommu extends IommufdObject {
    final ioasid.api.iommu.Viommu viommu;
    final Hwpt parent;
    int vdevices;

    Viommu(ioasid.api.iommu.Viommu viommu, Hwpt parent) {
        this.viommu = viommu;
        this.parent = parent;
    }

    @Override
    ObjectType type() {
        return ObjectType.VIOMMU;
    }

    /** Rule 2. */
    @Override
    int users() {
        return vdevices;
    }

    @Override
    IommufdObjectDTO dto() {
        IommufdObjectDTO d = super.dto();
        d.hwptId = parent.id();
        d.device = viommu.backend();
        return d;
    }
}
