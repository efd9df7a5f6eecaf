package ioasid.core.iommu;

import static ioasid.api.Errno.EACCES;
import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.EPERM;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.api.Errno.EPERM;
import static ioasid.core.iommu.IommuState.checkLive;
import static ioasid.core.iommu.IommuState.err;

import ioasid.api.IoasidException;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuGroup;

/*
 * IOMMU groups and the domains they are on (the group half of the kernel's iommu.c): lookups,
 * caller domains attached and detached, the default domain and its type, and a group's set-up,
 * membership and end. The switches themselves are DomainSwitch's.
 *
 * Rules:
 *  1. A group starts on a default domain of the platform's type (rule 41), on the blocking domain
 *     if it is owned (rule 55), or on no domain when the driver has no default domains. A device
 *     that joins a group is put on the group's domain, not on the default (rule 55).
 *  2. A group holds its default domain, its blocking domain (made on first use, freed with the
 *     group), its current domain, its owner and owner count, and its PASIDs (rule 43).
 *  3. One caller domain at a time: attaching over another caller domain is EBUSY; attaching over
 *     the default or blocking domain is allowed (rule 46). A device is attached alone only when
 *     its group has no other device (rule 47).
 *  4. The default type is changed by a privileged caller only, to identity, DMA, DMA-FQ or auto;
 *     DMA to DMA-FQ is done in place, any other change needs an owner count of 0 (rule 42).
 *  5. A domain is freed only when nothing uses it (known bug 1): a caller domain still attached
 *     is EBUSY, a group's own domains go with the group. A freed domain is ENOENT wherever it is
 *     passed again, one whose backend left ENODEV (D20).
 *  6. Replace moves a claimed group (EPERM otherwise, D23) from whatever domain it is on to a
 *     caller domain, over another caller domain too; the domain it is on already is a no-op, a
 *     failure leaves the old one attached (iommu_group_replace_domain, rule 44, D18).
 */
final class Groups {
    private static final System.Logger LOG = System.getLogger("ioasid.iommu");

    private final IommuState state;
    private final DomainSwitch domainSwitch;
    /** The default domain type when a group has not chosen one (rule 41). */
    private final DomainType platformDefault;

    Groups(IommuState state, DomainSwitch domainSwitch, DomainType platformDefault) {
        this.state = state;
        this.domainSwitch = domainSwitch;
        this.platformDefault = platformDefault;
    }

    IommuGroup group(String device) {
        state.lock();
        try {
            DeviceEntry d = state.device(device);
            if (d.group == null) {
                throw err(ENODEV, "device " + device + " has no group right now");
            }
            return d.group;
        } finally {
            state.unlock();
        }
    }

    IommuGroup group(int groupId) {
        state.lock();
        try {
            GroupImpl g = state.groups.get(groupId);
            if (g == null) {
                throw err(ENOENT, "no IOMMU group " + groupId);
            }
            return g;
        } finally {
            state.unlock();
        }
    }

    IommuDomain domain(int domainId) {
        state.lock();
        try {
            DomainImpl d = state.domains.get(domainId);
            if (d == null) {
                throw err(ENOENT, "no domain " + domainId);
            }
            return d;
        } finally {
            state.unlock();
        }
    }

    IommuDomain domainAlloc(String device, boolean nestingParent) {
        state.lock();
        try {
            DeviceEntry d = state.presentDevice(device);
            BackendEntry be = d.backend;
            if (nestingParent && !be.caps.nesting()) {
                throw err(EOPNOTSUPP, be + " cannot nest");
            }
            return state.newDomain(be,
                    be.backend.domainAlloc(DomainType.UNMANAGED, nestingParent),
                    DomainType.UNMANAGED, DomainImpl.Role.CALLER, nestingParent);
        } finally {
            state.unlock();
        }
    }

    void domainFree(IommuDomain domain) {
        state.lock();
        try {
            DomainImpl d = state.own(domain);
            checkLive(d);
            if (d.role != DomainImpl.Role.CALLER) {
                throw err(EINVAL, d + " belongs to the core");
            }
            if (d.inUse()) {
                throw err(EBUSY, d + " is still attached to " + d.groups.size() + " groups, "
                        + d.pasids.size() + " PASIDs and " + d.viommus + " vIOMMUs");
            }
            d.freed = true; // before live goes false, so no reader sees a freed domain as departed
            state.freeHw(d);
        } finally {
            state.unlock();
        }
    }

    void attachGroup(IommuDomain domain, IommuGroup group) {
        state.lock();
        try {
            DomainImpl d = state.own(domain);
            checkLive(d);
            GroupImpl g = state.liveGroup(group);
            attach(d, g);
        } finally {
            state.unlock();
        }
    }

    private void attach(DomainImpl d, GroupImpl g) {
        if (d.role != DomainImpl.Role.CALLER) {
            throw err(EINVAL, d + " is not a caller domain");
        }
        if (d.backend != g.devices.get(0).backend) {
            throw err(EINVAL, d + " belongs to another IOMMU than " + g);
        }
        if (g.domain == d) {
            return;
        }
        // rule 46: only one caller domain at a time
        if (g.domain != null && g.domain != g.defaultDomain && g.domain != g.blockingDomain) {
            throw err(EBUSY, g + " is attached to " + g.domain);
        }
        domainSwitch.setDomain(g, d);
    }

    void detachGroup(IommuDomain domain, IommuGroup group) {
        state.lock();
        try {
            DomainImpl d = state.own(domain);
            checkFreed(d);
            GroupImpl g = state.liveGroup(group);
            if (g.domain != d || d.role != DomainImpl.Role.CALLER) {
                throw err(EINVAL, g + " is not attached to " + d);
            }
            domainSwitch.setCoreDomain(g); // rule 48: never NULL or a freed domain while owned
        } finally {
            state.unlock();
        }
    }

    private GroupImpl singleDeviceGroup(String device) {
        DeviceEntry d = state.presentDevice(device);
        if (d.group.devices.size() != 1) {
            throw err(EINVAL, "device " + device + " shares its group with "
                    + (d.group.devices.size() - 1) + " others: attach the group (rule 47)");
        }
        return d.group;
    }

    void attachDevice(IommuDomain domain, String device) {
        state.lock();
        try {
            DomainImpl d = state.own(domain);
            checkLive(d);
            attach(d, singleDeviceGroup(device));
        } finally {
            state.unlock();
        }
    }

    void detachDevice(IommuDomain domain, String device) {
        state.lock();
        try {
            DomainImpl d = state.own(domain);
            checkFreed(d);
            GroupImpl g = singleDeviceGroup(device);
            if (g.domain != d || d.role != DomainImpl.Role.CALLER) {
                throw err(EINVAL, device + " is not attached to " + d);
            }
            domainSwitch.setCoreDomain(g);
        } finally {
            state.unlock();
        }
    }

    /** D20: a freed domain is ENOENT; a detach from a departed one stays the EINVAL it was. */
    private static void checkFreed(DomainImpl d) {
        if (d.freed) {
            throw IommuState.gone(d);
        }
    }

    void replaceGroupDomain(IommuGroup group, IommuDomain domain) {
        state.lock();
        try {
            GroupImpl g = state.liveGroup(group);
            DomainImpl d = state.own(domain);
            checkLive(d);
            replace(d, g);
        } finally {
            state.unlock();
        }
    }

    void replaceDeviceDomain(String device, IommuDomain domain) {
        state.lock();
        try {
            GroupImpl g = singleDeviceGroup(device);
            DomainImpl d = state.own(domain);
            checkLive(d);
            replace(d, g);
        } finally {
            state.unlock();
        }
    }

    /** Rule 6: iommu_group_replace_domain, for the group's DMA owner. */
    private void replace(DomainImpl d, GroupImpl g) {
        if (d.role != DomainImpl.Role.CALLER) {
            throw err(EINVAL, d + " is not a caller domain");
        }
        if (d.backend != g.devices.get(0).backend) {
            throw err(EINVAL, d + " belongs to another IOMMU than " + g);
        }
        if (g.dmaOwner == null) {
            throw err(EPERM, g + " is not claimed for DMA" + (g.ownerCount > 0
                    ? ": a kernel driver uses its default domain" : ""));
        }
        domainSwitch.setDomain(g, d); // a no-op when already on d (rule 44), undone on failure
    }

    void setDefaultDomainType(IommuGroup group, DomainType type, boolean privileged) {
        state.lock();
        try {
            if (!privileged) {
                throw err(EACCES, "changing the default domain needs CAP_SYS_ADMIN and "
                        + "CAP_SYS_RAWIO");
            }
            if (type != null && type != DomainType.IDENTITY && type != DomainType.DMA
                    && type != DomainType.DMA_FQ) {
                throw err(EINVAL, "the default domain type is identity, DMA, DMA-FQ or auto, not "
                        + type.sysfsName());
            }
            GroupImpl g = state.liveGroup(group);
            BackendEntry be = g.devices.get(0).backend;
            DomainType want = type != null ? type : platformDefault;
            if (!be.caps.defaultDomains() || !be.caps.supports(want)) {
                throw err(EINVAL, be + " cannot make a " + want.sysfsName() + " default domain");
            }
            DomainImpl cur = g.defaultDomain;
            if (cur != null && cur.type == want) {
                g.defaultType = type;
                return;
            }
            // rule 42: DMA to DMA-FQ is done in place, even with a driver bound
            if (cur != null && cur.type == DomainType.DMA && want == DomainType.DMA_FQ) {
                cur.type = DomainType.DMA_FQ;
                g.defaultType = type;
                return;
            }
            if (g.ownerCount != 0) {
                throw err(EPERM, g + " is in use (owner count " + g.ownerCount + ")");
            }
            DomainImpl next = state.newDomain(be, be.backend.domainAlloc(want, false), want,
                    DomainImpl.Role.DEFAULT, false);
            boolean onDefault = g.domain == cur;
            try {
                if (onDefault) {
                    domainSwitch.setDomain(g, next);
                }
            } catch (RuntimeException e) {
                state.freeHw(next);
                throw e;
            }
            g.defaultDomain = next;
            g.defaultType = type;
            if (cur != null && !cur.inUse()) {
                state.freeHw(cur);
            }
        } finally {
            state.unlock();
        }
    }

    /** Gives a new or returning group its default domain, or its blocking one if owned. */
    void setUp(BackendEntry be, GroupImpl g) {
        g.blocked = false;
        g.domain = null;
        if (be.caps.defaultDomains()) {
            try {
                g.defaultDomain = allocDefault(be, g);
            } catch (IoasidException e) {
                be.faults.driver();
                LOG.log(System.Logger.Level.ERROR, "no default domain for " + g + ": "
                        + e.getMessage());
            }
        }
        DomainImpl target = g.dmaOwner != null ? domainSwitch.blockingOrNull(g) : g.defaultDomain;
        if (target != null) {
            domainSwitch.setDomainOrWarn(g, target);
        }
    }

    /** Rule 55: a device joining a claimed group is not attached to the default domain. */
    void attachJoiner(BackendEntry be, GroupImpl g, DeviceEntry d) {
        DomainImpl target = g.domain;
        if (target == null) {
            return;
        }
        try {
            be.backend.attachDev(d.name, target.hw);
            be.ops.attaches.increment();
        } catch (RuntimeException e) {
            be.faults.driver();
            LOG.log(System.Logger.Level.ERROR, "attaching " + d.name + " to " + target
                    + " failed: " + e.getMessage());
        }
    }

    private DomainImpl allocDefault(BackendEntry be, GroupImpl g) {
        DomainType want = g.defaultType != null ? g.defaultType : platformDefault;
        // a type the hardware lacks falls back: DMA-FQ to DMA, DMA to identity
        DomainType[] order = {want, DomainType.DMA_FQ, DomainType.DMA, DomainType.IDENTITY};
        IoasidException last = null;
        for (DomainType t : order) {
            if (!be.caps.supports(t)) {
                continue;
            }
            try {
                return state.newDomain(be, be.backend.domainAlloc(t, false), t,
                        DomainImpl.Role.DEFAULT, false);
            } catch (IoasidException e) {
                last = e;
            }
        }
        throw last != null ? last : err(EOPNOTSUPP, be + " supports no default domain type");
    }

    /** A device leaves its group, with the driver uses it counted; the last one dissolves it. */
    void leave(GroupImpl g, DeviceEntry d) {
        g.devices.remove(d);
        g.ownerCount -= d.driverUsers;
        d.driverUsers = 0;
        if (g.devices.isEmpty()) {
            dissolve(g);
        }
    }

    /** Forgets a group's domains (a group whose backend left keeps none; see dissolve). */
    void unhookDomains(GroupImpl g) {
        for (DomainImpl dom : new DomainImpl[] {g.domain, g.defaultDomain, g.blockingDomain}) {
            if (dom != null) {
                dom.groups.remove(g);
            }
        }
        g.domain = null;
        g.defaultDomain = null;
        g.blockingDomain = null;
    }

    /** Ends a group, freeing the domains it owned when nothing else uses them. */
    private void dissolve(GroupImpl g) {
        DomainImpl[] own = {g.defaultDomain, g.blockingDomain};
        unhookDomains(g);
        for (DomainImpl dom : own) {
            if (dom != null && dom.live && !dom.inUse()) {
                state.freeHw(dom);
            }
        }
        state.groups.remove(g.id);
        state.groupsByKey.remove(g.backendName + '\0' + g.key);
        for (DeviceEntry d : g.devices) {
            d.group = null;
        }
        g.devices.clear();
    }
}
