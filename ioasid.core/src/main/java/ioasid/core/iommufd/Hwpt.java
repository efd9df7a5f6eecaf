package ioasid.core.iommufd;

import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommufd.IommufdObjectDTO;
import ioasid.api.iommufd.ObjectType;

/*
 * A paging HWPT: a domain of the IOMMU core that follows one IOAS.
 *
 * Rules:
 *  1. It holds its IOAS for as long as it lives (rule 127).
 *  2. It is in use while devices or PASIDs are attached to it or vIOMMUs sit on it (rule 127).
 *  3. One made by attach (auto) is destroyed when it has no user left; one the user allocated
 *     stays until destroyed (rule 127).
 *  4. A domain whose hardware left is dead: nothing is mapped into it or asked of it again
 *     (D33).
 */
final class Hwpt extends IommufdObject {
    final Ioas ioas;
    final IommuDomain domain;
    final boolean auto;
    final boolean nestParent;
    /** Devices attached without PASID: each device of an attached group counts. */
    int devices;
    int pasids;
    int viommus;

    Hwpt(Ioas ioas, IommuDomain domain, boolean auto, boolean nestParent) {
        this.ioas = ioas;
        this.domain = domain;
        this.auto = auto;
        this.nestParent = nestParent;
    }

    @Override
    ObjectType type() {
        return ObjectType.HWPT_PAGING;
    }

    /** Rule 2. */
    @Override
    int users() {
        return devices + pasids + viommus;
    }

    /** Rule 4. */
    boolean live() {
        return domain.live();
    }

    @Override
    IommufdObjectDTO dto() {
        IommufdObjectDTO d = super.dto();
        d.ioasId = ioas.id();
        d.domainId = domain.id();
        d.auto = auto;
        d.nestParent = nestParent;
        d.device = domain.backend();
        return d;
    }
}
