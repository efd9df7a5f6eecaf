package ioasid.core.iommufd;

import ioasid.api.iommu.Vdevice;
import ioasid.api.iommufd.IommufdObjectDTO;
import ioasid.api.iommufd.ObjectType;

/*
 * A vDevice object: a bound device's virtual ID in a vIOMMU object.
 *
 * Rules:
 *  1. It holds its vIOMMU for as long as it lives (rule 90).
 *  2. Nothing holds it: it can always be destroyed; when its device is unbound it is destroyed
 *     and its ID becomes a tombstone (rule 129).
 */
final class Vdev extends IommufdObject {
    final Vdevice vdevice;
    final Viommu viommu;
    final Device device;

    Vdev(Vdevice vdevice, Viommu viommu, Device device) {
        this.vdevice = vdevice;
        this.viommu = viommu;
        this.device = device;
    }

    @Override
    ObjectType type() {
        return ObjectType.VDEVICE;
    }

    /** Rule 2. */
    @Override
    int users() {
        return 0;
    }

    @Override
    IommufdObjectDTO dto() {
        IommufdObjectDTO d = super.dto();
        d.viommuId = viommu.id();
        d.device = device.name;
        d.virtId = vdevice.virtId();
        return d;
    }
}
