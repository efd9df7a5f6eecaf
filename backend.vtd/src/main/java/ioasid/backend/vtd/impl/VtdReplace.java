package ioasid.backend.vtd.impl;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.spi.BackendDomain;

/*
 * Replace of a PASID's domain (D25), as intel_iommu_set_dev_pasid does it when the PASID has an
 * old domain: domain_setup_{second_level,first_level,passthrough} with `old` call
 * intel_pasid_replace_*, which write the new entry over the present one (PasidTable rule 4).
 *
 * Rules (rules.md rules 106, 110):
 *  1. Every argument is checked before anything is written: the PASID as setDevPasid checks it,
 *     the old domain must be the one installed (EINVAL), a domain the unit cannot install at a
 *     PASID is EOPNOTSUPP; the same domain is a no-op.
 *  2. The entry is never cleared on the way: DMA tagged with the PASID reaches the old or the
 *     new domain. The invalidations use the old DID.
 *  3. The blocking domain is a teardown (blocking_domain_set_dev_pasid).
 *  4. The RID (PASID 0) has no replace of its own: intel_iommu_attach_device blocks, then sets
 *     up, so replaceDev stays the SPI's default, attachDev.
 *
 * Callers: the backend; it takes the driver's lock.
 */
final class VtdReplace {
    private final VtdDriver drv;

    VtdReplace(VtdDriver drv) {
        this.drv = drv;
    }

    void pasid(String device, int pasid, BackendDomain old, BackendDomain domain) {
        drv.lock.lock();
        try {
            drv.checkOpen();
            VtdDevice d = drv.dev(device);
            VtdDomain o = drv.own(old);
            VtdDomain dom = drv.own(domain);
            drv.checkPasid(d, pasid);
            if (d.pasids.get(pasid) != o) {
                throw new IoasidException(Errno.EINVAL, "PASID " + pasid + " of " + device
                        + " is on " + d.pasids.get(pasid) + ", not " + o);
            }
            if (dom == o) {
                return;
            }
            DmarUnit unit = drv.unit();
            if (dom.type() == DomainType.BLOCKED) {
                d.table.tearDown(pasid);
            } else if (dom.type().isPaging() && !unit.secondLevel()
                    || dom.type() == DomainType.SVA && !unit.firstLevel()) {
                throw new IoasidException(Errno.EOPNOTSUPP, dom + " cannot be installed at a "
                        + "PASID of " + drv.name());
            } else {
                d.table.replace(pasid, dom);
            }
            VtdDriver.forget(d, pasid, o);
            d.pasids.put(pasid, dom);
            VtdDriver.remember(d, pasid, dom);
        } finally {
            drv.lock.unlock();
        }
    }
}
