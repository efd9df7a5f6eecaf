package ioasid.core.iommufd;

import ioasid.api.IoasidException;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuService;

/*
 * Making and destroying paging HWPTs.
 *
 * Rules:
 *  1. A HWPT is a caller domain allocated for the device's IOMMU, filled with its IOAS's areas
 *     before it enters the table; a failure frees the domain and leaves nothing (rule 127).
 *  2. Destroying one empties it, takes it out of its IOAS and frees its domain; a domain whose
 *     hardware left is not freed again (D33).
 *  3. An auto HWPT goes when its last user does (rule 127).
 */
final class Hwpts {
    private static final System.Logger LOG = System.getLogger("ioasid.iommufd");

    private final IommuService iommu;
    private final ObjectTable table;

    Hwpts(IommuService iommu, ObjectTable table) {
        this.iommu = iommu;
        this.table = table;
    }

    /** Rule 1. */
    Hwpt create(Device device, Ioas ioas, boolean nestParent, boolean auto) {
        IommuDomain domain = iommu.domainAlloc(device.name, nestParent);
        Hwpt h = new Hwpt(ioas, domain, auto, nestParent);
        try {
            ioas.add(h);
        } catch (RuntimeException e) {
            iommu.domainFree(domain);
            throw e;
        }
        return table.insert(h);
    }

    /** Rule 2: the caller has checked that nothing uses it. */
    void destroy(Hwpt h) {
        h.ioas.remove(h);
        table.remove(h);
        if (h.live()) {
            try {
                iommu.domainFree(h.domain);
            } catch (IoasidException e) {
                // the domain died after the check above (D33): the core dropped it already
                LOG.log(System.Logger.Level.DEBUG, "free of " + h + ": " + e);
            }
        }
    }

    /** Rule 3: called when a user lets go of {@code h}. */
    void put(Hwpt h) {
        if (h.auto && h.users() == 0 && table.contains(h)) {
            destroy(h);
        }
    }
}
