package ioasid.core.iommu;

import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.core.iommu.IommuState.err;

import java.util.ArrayList;

import ioasid.api.IoasidHandle;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.PrivatePasid;

/*
 * Private PASIDs (seed 002): a PASID of one device with an unmanaged domain of its own, handed
 * out as a handle whose page-table calls go straight to that domain.
 *
 * Rules:
 *  1. The allocation returns a handle, not a number; map, unmap, unmapFast, iovaToPhys,
 *     flushTlbAll and tlbRangeAdd are per handle, unmap syncs and unmapFast waits for a sync or
 *     flush (rule 104).
 *  2. The PASID comes from this core's set in [1, max_pasids - 1], allocated outside the mutex;
 *     a device that left meanwhile is ENODEV and the PASID is freed again.
 *  3. Freeing detaches the PASID, frees the domain and then the IOASID; a handle whose PASID or
 *     backend went is dead.
 */
final class PrivatePasids {
    private final IommuState state;
    private final Pasids pasids;
    private final DataPath dataPath;

    PrivatePasids(IommuState state, Pasids pasids, DataPath dataPath) {
        this.state = state;
        this.pasids = pasids;
        this.dataPath = dataPath;
    }

    PrivatePasid privatePasidAlloc(String device) {
        BackendEntry be;
        int max;
        state.lock();
        try {
            DeviceEntry dev = state.presentDevice(device);
            be = dev.backend;
            max = dev.maxPasids;
        } finally {
            state.unlock();
        }
        if (max == 0) {
            throw err(EINVAL, "device " + device + " does not support PASID");
        }
        IoasidHandle pasid = state.ioasid.alloc(state.pasidSet, 1, max - 1, "private:" + device);
        state.lock();
        try {
            DeviceEntry dev = state.devices.get(device);
            if (dev == null || dev.backend != be || dev.group == null) {
                throw err(ENODEV, "device " + device + " left during the allocation");
            }
            DomainImpl d = state.newDomain(be,
                    be.backend.domainAlloc(DomainType.UNMANAGED, false), DomainType.UNMANAGED,
                    DomainImpl.Role.PRIVATE, false);
            try {
                pasids.attachPasid(dev.group, d, pasid, PasidAttach.Kind.PRIVATE);
            } catch (RuntimeException e) {
                state.freeHw(d);
                throw e;
            }
            PrivatePasidImpl p = new PrivatePasidImpl(dataPath, dev, pasid, d);
            state.privatePasids.add(p);
            return p;
        } catch (RuntimeException e) {
            state.actions.add(() -> state.freeQuietly(pasid));
            throw e;
        } finally {
            state.unlock();
        }
    }

    void privatePasidFree(PrivatePasid pasid) {
        state.lock();
        try {
            if (!(pasid instanceof PrivatePasidImpl p) || p.dataPath != dataPath
                    || !state.privatePasids.remove(p)) {
                throw err(ENODEV, pasid + " is not a live private PASID of this IOMMU core");
            }
            p.live = false;
            GroupImpl g = p.device.group;
            PasidAttach pa = g == null ? null : g.pasids.get(p.pasid.id());
            if (pa != null && pa.domain == p.domain) {
                pasids.detachPasid(pa);
            }
            if (p.domain.live) {
                state.freeHw(p.domain);
            }
            IoasidHandle h = p.pasid;
            state.actions.add(() -> state.freeQuietly(h));
        } finally {
            state.unlock();
        }
    }

    /** Private PASIDs on a domain whose backend left: dead, their IOASIDs freed after the mutex. */
    void domainGone(DomainImpl d) {
        for (PrivatePasidImpl p : new ArrayList<>(state.privatePasids)) {
            if (p.domain == d) {
                p.live = false;
                state.privatePasids.remove(p);
                IoasidHandle pasid = p.pasid;
                state.actions.add(() -> state.freeQuietly(pasid));
            }
        }
    }

    /** Private PASIDs whose IOASID was detached under them: dead, their domains freed. */
    void pasidGone(IoasidHandle pasid) {
        for (PrivatePasidImpl p : new ArrayList<>(state.privatePasids)) {
            if (p.pasid == pasid) {
                p.live = false;
                state.privatePasids.remove(p);
                state.freeHw(p.domain);
            }
        }
    }
}
