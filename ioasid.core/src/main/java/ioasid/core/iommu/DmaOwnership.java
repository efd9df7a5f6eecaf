package ioasid.core.iommu;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.EPERM;
import static ioasid.core.iommu.IommuState.err;

import ioasid.api.iommu.IommuGroup;

/*
 * DMA ownership (the kernel's iommu_group_claim_dma_owner and friends): a user such as VFIO claims
 * a group, which moves it to its blocking domain; kernel drivers count themselves in by using the
 * default domain.
 *
 * Rules:
 *  1. Claiming needs an owner, an owner count of 0 (EPERM), and a group on its default domain or
 *     none without PASIDs (EBUSY); it moves the group to its blocking domain, or fails leaving
 *     the owner unset (rule 49, known bug 2).
 *  2. Releasing needs a claimed group without PASIDs and returns it to its default domain
 *     (rule 50).
 *  3. A device claim by the same owner counts up, by another is EPERM; a device release counts
 *     down and releases on the last (rule 52).
 *  4. A driver uses the default domain only while the group is not owned, on its default domain
 *     and without PASIDs, unless nothing uses it yet (rule 53).
 *  5. dmaOwnerClaimed is the owner count != 0, a report, not a binding answer (rule 54).
 */
final class DmaOwnership {
    private final IommuState state;
    private final DomainSwitch domainSwitch;

    DmaOwnership(IommuState state, DomainSwitch domainSwitch) {
        this.state = state;
        this.domainSwitch = domainSwitch;
    }

    void claimGroup(IommuGroup group, Object owner) {
        state.lock();
        try {
            if (owner == null) {
                throw err(EINVAL, "null DMA owner");
            }
            claim(state.liveGroup(group), owner);
        } finally {
            state.unlock();
        }
    }

    /** Rule 49. */
    private void claim(GroupImpl g, Object owner) {
        if (g.ownerCount != 0) {
            throw err(EPERM, g + " is owned or used by a driver (owner count " + g.ownerCount
                    + ")");
        }
        if ((g.domain != null && g.domain != g.defaultDomain) || !g.pasids.isEmpty()) {
            throw err(EBUSY, g + " is on " + g.domain + " or has PASIDs attached");
        }
        boolean made = g.blockingDomain == null;
        DomainImpl block = domainSwitch.blocking(g); // known bug 2: fails cleanly, owner unset
        try {
            domainSwitch.setDomain(g, block);
        } catch (RuntimeException e) {
            if (made) {
                g.blockingDomain = null;
                state.freeHw(block);
            }
            throw e;
        }
        g.dmaOwner = owner;
        g.ownerCount = 1;
    }

    void releaseGroup(IommuGroup group) {
        state.lock();
        try {
            release(state.liveGroup(group));
        } finally {
            state.unlock();
        }
    }

    /** Rule 50. */
    private void release(GroupImpl g) {
        if (g.ownerCount == 0 || g.dmaOwner == null) {
            throw err(EINVAL, g + " is not claimed");
        }
        if (!g.pasids.isEmpty()) {
            throw err(EBUSY, g + " still has " + g.pasids.size() + " PASIDs attached");
        }
        g.ownerCount = 0;
        g.dmaOwner = null;
        if (g.defaultDomain != null) {
            domainSwitch.setDomainOrWarn(g, g.defaultDomain);
        } else {
            domainSwitch.setCoreDomain(g);
        }
    }

    void claimDevice(String device, Object owner) {
        state.lock();
        try {
            if (owner == null) {
                throw err(EINVAL, "null DMA owner");
            }
            GroupImpl g = state.presentDevice(device).group;
            if (g.ownerCount > 0) {
                if (g.dmaOwner != owner) {
                    throw err(EPERM, g + " is owned by another owner or used by a driver");
                }
                g.ownerCount++; // rule 52: the same owner counts up
                return;
            }
            claim(g, owner);
        } finally {
            state.unlock();
        }
    }

    void releaseDevice(String device) {
        state.lock();
        try {
            GroupImpl g = state.presentDevice(device).group;
            if (g.dmaOwner == null) {
                throw err(EINVAL, g + " is not claimed");
            }
            if (g.ownerCount > 1) {
                g.ownerCount--;
                return;
            }
            release(g);
        } finally {
            state.unlock();
        }
    }

    void useDefaultDomain(String device) {
        state.lock();
        try {
            DeviceEntry d = state.presentDevice(device);
            GroupImpl g = d.group;
            // rule 53
            if (g.ownerCount > 0 && (g.dmaOwner != null || g.domain != g.defaultDomain
                    || !g.pasids.isEmpty())) {
                throw err(EBUSY, g + " is owned, off its default domain or has PASIDs");
            }
            g.ownerCount++;
            d.driverUsers++;
        } finally {
            state.unlock();
        }
    }

    void unuseDefaultDomain(String device) {
        state.lock();
        try {
            DeviceEntry d = state.presentDevice(device);
            if (d.driverUsers == 0) {
                throw err(EINVAL, "no driver uses the default domain of " + device);
            }
            d.driverUsers--;
            d.group.ownerCount--;
        } finally {
            state.unlock();
        }
    }

    boolean dmaOwnerClaimed(IommuGroup group) {
        state.lock();
        try {
            return state.own(group).ownerCount != 0;
        } finally {
            state.unlock();
        }
    }
}
