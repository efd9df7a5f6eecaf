package ioasid.backend.smmuv3.impl;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.backend.smmuv3.impl.Smmuv3Driver.err;

import java.util.List;

import ioasid.api.iommu.spi.BackendDomain;

/*
 * Replace of a master's domain and of a PASID's (D25), as arm_smmu_attach_dev and
 * arm_smmu_set_pasid do it when the master already has a domain: the new entries are written
 * over the old ones, never through an abort STE or a cleared CD on purpose.
 *
 * Rules (rules.md rules 105, 106, 109; section 2 "ARM SMMUv3"):
 *  1. The old domain named must be the one installed (EINVAL otherwise); the same domain is a
 *     no-op; an SVA domain is for PASIDs only (EINVAL).
 *  2. RID to a stage-1 domain: CD 0 is written first (EntryWriter), then the STE. RID to any
 *     other domain: the STE first, then the CD 0 it no longer uses is cleared.
 *  3. A stage-2 domain cannot take a master whose PASIDs are in use (EBUSY, nothing changed).
 *  4. PASID: the CD is rewritten in place; the STE is not touched. Leaving an SVA domain
 *     invalidates its shared ASID, as an unbind does.
 *
 * Callers: the backend; it takes the driver's lock.
 */
final class Smmuv3Replace {
    private final Smmuv3Driver drv;

    Smmuv3Replace(Smmuv3Driver drv) {
        this.drv = drv;
    }

    /** Rules 1-3. */
    void dev(String device, BackendDomain old, BackendDomain domain) {
        drv.lock.lock();
        try {
            drv.checkOpen();
            Master m = drv.master(device);
            Smmuv3Domain o = drv.own(old);
            Smmuv3Domain d = drv.own(domain);
            if (d.kind == Smmuv3Domain.Kind.SVA) {
                throw err(EINVAL, "an SVA domain is attached at a PASID only");
            }
            if (m.ridDomain != o) {
                throw err(EINVAL, m.name() + " is on " + m.ridDomain + ", not " + o);
            }
            if (d == o) {
                return;
            }
            if (d.kind == Smmuv3Domain.Kind.S2 && !m.pasids.isEmpty()) {
                throw err(EBUSY, "a stage-2 domain cannot take " + m.name()
                        + " while its PASIDs are in use");
            }
            Smmuv3Domain.Attachment rid = new Smmuv3Domain.Attachment(m, 0);
            if (d.kind == Smmuv3Domain.Kind.S1) {
                drv.cds.prepare(m, 0);
                drv.cds.update(rid, drv.cdFor(d), d);
            }
            o.attachments.remove(rid);
            d.attachments.add(rid);
            m.ridDomain = d;
            drv.stes.update(m);
            if (d.kind != Smmuv3Domain.Kind.S1 && drv.cds.cd0Valid(m)) {
                drv.cds.update(rid, new long[Cd.DWORDS], null);
            }
        } finally {
            drv.lock.unlock();
        }
    }

    /** Rules 1 and 4. */
    void pasid(String device, int pasid, BackendDomain old, BackendDomain domain) {
        drv.lock.lock();
        try {
            drv.checkOpen();
            Master m = drv.master(device);
            Smmuv3Driver.checkPasid(pasid);
            Smmuv3Domain o = drv.own(old);
            Smmuv3Domain d = drv.own(domain);
            if (d.kind != Smmuv3Domain.Kind.S1 && d.kind != Smmuv3Domain.Kind.SVA) {
                throw err(EINVAL, "a " + d.kind + " domain cannot be attached at a PASID");
            }
            if (m.pasids.get(pasid) != o) {
                throw err(EINVAL, "PASID " + pasid + " of " + m.name() + " is not on " + o);
            }
            if (d == o) {
                return;
            }
            Smmuv3Domain.Attachment a = new Smmuv3Domain.Attachment(m, pasid);
            drv.cds.update(a, drv.cdFor(d), d);
            m.pasids.put(pasid, d);
            o.attachments.remove(a);
            d.attachments.add(a);
            if (o.kind == Smmuv3Domain.Kind.SVA) {
                drv.smmu.cmdq.submit(List.of(Command.tlbiNhAsid(o.asid)));
            }
        } finally {
            drv.lock.unlock();
        }
    }
}
