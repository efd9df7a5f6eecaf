package ioasid.core.iommu;

import java.util.ArrayList;
import java.util.List;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.spi.BackendDomain;

/*
 * Domain switching: the one place a group's devices are moved from one domain to another (the
 * kernel's __iommu_group_set_domain), and the core domains a group falls back to. Every attach
 * and detach of a group or device, claim, release, default-type change and probe goes through
 * here; a PASID's attachment to a domain is Pasids'.
 *
 * Rules:
 *  1. A group switches domains device by device; a failure puts the switched ones back, so DMA
 *     reaches only the old or the new domain, never anything else (rule 44, D18).
 *  2. Detaching returns to the core domain: the blocking domain when owned, else the default;
 *     while owned, never to no domain or a freed one (rules 45, 48). A failed switch to a core
 *     domain only warns (rule 45). Without default domains a group goes back to none (known
 *     bug 3).
 *  3. The blocking domain is made on first use, or is an empty unmanaged one where BLOCKED is not
 *     supported (rule 49).
 *  4. A device that has a domain is switched by replaceDev, which names the domain it leaves, as
 *     the kernel calls attach_dev with the current domain still installed; attachDev is for a
 *     device with none. Switching to the domain a group is on does nothing (rule 44).
 */
final class DomainSwitch {
    private static final System.Logger LOG = System.getLogger("ioasid.iommu");

    private final IommuState state;

    DomainSwitch(IommuState state) {
        this.state = state;
    }

    /**
     * Moves every device of the group to {@code next}, or none: on a failure the devices already
     * moved go back to the old domain, which cannot fail, and the group stays where it was.
     */
    void setDomain(GroupImpl g, DomainImpl next) {
        DomainImpl old = g.domain;
        if (old == next) {
            return;
        }
        BackendEntry be = g.devices.get(0).backend;
        if (next == null) {
            for (DeviceEntry d : g.devices) {
                be.backend.detachDev(d.name); // EOPNOTSUPP when there is no such state
            }
        } else {
            List<DeviceEntry> moved = new ArrayList<>();
            for (DeviceEntry d : g.devices) {
                try {
                    if (old != null) {
                        be.backend.replaceDev(d.name, old.hw, next.hw);
                    } else {
                        be.backend.attachDev(d.name, next.hw);
                    }
                    moved.add(d);
                } catch (RuntimeException e) {
                    for (DeviceEntry m : moved) {
                        try {
                            if (old != null) {
                                be.backend.replaceDev(m.name, next.hw, old.hw);
                            } else {
                                be.backend.detachDev(m.name);
                            }
                        } catch (RuntimeException undo) {
                            be.faults.driver();
                            LOG.log(System.Logger.Level.ERROR, "re-attaching " + m.name
                                    + " to its old domain failed (must not): " + undo);
                        }
                    }
                    be.faults.passed(e);
                    throw e instanceof IoasidException ie ? ie
                            : new IoasidException(Errno.EIO, "attach of " + d.name + " to " + next
                                    + " failed: " + e, e);
                }
            }
        }
        if (next != null) {
            be.ops.attaches.add(g.devices.size());
        }
        if (old != null) {
            old.groups.remove(g);
        }
        g.domain = next;
        if (next != null) {
            next.groups.add(g);
        }
    }

    /** Rule 45: switching to a core domain only warns on failure. */
    void setDomainOrWarn(GroupImpl g, DomainImpl next) {
        try {
            setDomain(g, next);
        } catch (RuntimeException e) {
            if (!BackendFaults.isDriverFault(e)) {
                g.devices.get(0).backend.faults.driver(); // a driver fault setDomain did not count
            }
            LOG.log(System.Logger.Level.ERROR, "IOMMU driver failed to attach the "
                    + (next == g.blockingDomain ? "blocking" : "default") + " domain to " + g
                    + ": " + e.getMessage());
        }
    }

    /** Rule 45: the blocking domain when owned, otherwise the default one. */
    void setCoreDomain(GroupImpl g) {
        DomainImpl core = g.dmaOwner != null ? g.blockingDomain : g.defaultDomain;
        if (core == null && !g.devices.get(0).backend.caps.defaultDomains()) {
            setDomain(g, null); // known bug 3: no default domain, back to none
            return;
        }
        setDomainOrWarn(g, core);
    }

    /** Rule 49: the group's blocking domain, made on first use. */
    DomainImpl blocking(GroupImpl g) {
        if (g.blockingDomain != null) {
            return g.blockingDomain;
        }
        BackendEntry be = g.devices.get(0).backend;
        BackendDomain hw;
        DomainType type = DomainType.BLOCKED;
        try {
            hw = be.backend.domainAlloc(DomainType.BLOCKED, false);
        } catch (IoasidException e) {
            // "for drivers that do not yet understand IOMMU_DOMAIN_BLOCKED": an empty paging domain
            hw = be.backend.domainAlloc(DomainType.UNMANAGED, false);
            type = DomainType.UNMANAGED;
        }
        g.blockingDomain = state.newDomain(be, hw, type, DomainImpl.Role.BLOCKING, false);
        return g.blockingDomain;
    }

    DomainImpl blockingOrNull(GroupImpl g) {
        try {
            return blocking(g);
        } catch (IoasidException e) {
            g.devices.get(0).backend.faults.driver();
            LOG.log(System.Logger.Level.ERROR, "no blocking domain for owned " + g + ": "
                    + e.getMessage());
            return null;
        }
    }
}
