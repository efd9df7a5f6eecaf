package ioasid.core.iommu;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.api.Errno.EOVERFLOW;
import static ioasid.core.iommu.IommuState.err;

import java.util.ArrayList;
import java.util.Map;

import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.SvaHandle;

/*
 * Shared virtual addressing, as iommu-sva.c does it: a device works in a process's address space
 * through the process's one PASID and an SVA domain that shares its page table.
 *
 * Rules:
 *  1. A process has one PASID, allocated at its first bind in its MM set (rule 63) outside the
 *     mutex, and reused by later binds; EOPNOTSUPP for a device without PASID, EBUSY for an
 *     address space the IOMMU cannot walk, ENOSPC when none is left, EOVERFLOW for a device whose
 *     max_pasids the process's PASID passes (rule 36).
 *  2. A bind reuses one of the process's SVA domains that attaches to the device, else makes a
 *     new one; the domain counts its binds and goes with its last (rule 37).
 *  3. The PASID goes when the process releases its address space, not with its last unbind; a
 *     process with binds left is EBUSY (rule 36).
 */
final class Sva {
    private static final System.Logger LOG = System.getLogger("ioasid.iommu");

    private final IommuState state;
    private final Pasids pasids;

    Sva(IommuState state, Pasids pasids) {
        this.state = state;
        this.pasids = pasids;
    }

    SvaHandle svaBind(String device, ProcessAddressSpace mm) {
        if (mm == null) {
            throw err(EINVAL, "null address space");
        }
        IoasidHandle fresh = null;
        for (;;) {
            int max;
            state.lock();
            try {
                DeviceEntry dev = state.presentDevice(device);
                max = dev.maxPasids;
                if (max == 0) {
                    throw err(EOPNOTSUPP, "device " + device + " does not support PASID");
                }
                if (!mm.dmaCompatible()) {
                    throw err(EBUSY, "the IOMMU cannot walk this address space's page table");
                }
                MmState st = state.mms.get(mm);
                if (st != null && st.pasid != null) {
                    if (fresh != null) {
                        IoasidHandle spare = fresh; // another bind of the process won the race
                        state.actions.add(() -> state.freeQuietly(spare));
                        fresh = null;
                    }
                    return bindWith(dev, mm, st);
                }
                if (fresh != null) {
                    if (st == null) {
                        st = new MmState();
                        state.mms.put(mm, st);
                    }
                    st.set = fresh.set();
                    st.pasid = fresh;
                    fresh = null;
                    return bindWith(dev, mm, st);
                }
            } catch (RuntimeException e) {
                if (fresh != null) {
                    IoasidHandle spare = fresh;
                    state.actions.add(() -> state.freeQuietly(spare));
                }
                throw e;
            } finally {
                state.unlock();
            }
            fresh = allocMmPasid(mm, max);
            if (fresh == null) {
                continue; // lost a race for the process's one PASID: use the winner's
            }
        }
    }

    /** The process's PASID in its MM set (rule 63), allocated outside the mutex (it sends ALLOC). */
    private IoasidHandle allocMmPasid(ProcessAddressSpace mm, int max) {
        IoasidSet set;
        boolean created = true;
        try {
            set = state.ioasid.createSet(TokenType.MM, mm, 1);
        } catch (IoasidException e) {
            if (e.errno() != EEXIST) {
                throw e;
            }
            set = state.ioasid.findSet(TokenType.MM, mm);
            created = false;
        }
        try {
            return state.ioasid.alloc(set, 1, max - 1, mm); // rule 36: ENOSPC when none is left
        } catch (IoasidException e) {
            if (created && set.size() == 0) {
                state.ioasid.freeSet(set); // a failed first bind leaves no set behind
            }
            state.lock();
            try {
                MmState st = state.mms.get(mm);
                if (e.errno() == ENOSPC && st != null && st.pasid != null) {
                    return null;
                }
            } finally {
                state.unlock();
            }
            throw e;
        }
    }

    /** Rule 37: reuse one of the process's SVA domains if it attaches, else a new one. */
    private SvaHandle bindWith(DeviceEntry dev, ProcessAddressSpace mm, MmState st) {
        if (st.pasid.id() >= dev.maxPasids) {
            throw err(EOVERFLOW, "the process's PASID " + st.pasid.id() + " is past the "
                    + dev.maxPasids + " PASIDs of " + dev.name);
        }
        BackendEntry be = dev.backend;
        for (Map.Entry<DomainImpl, Integer> e : st.domains.entrySet()) {
            DomainImpl sd = e.getKey();
            if (sd.backend != be) {
                continue;
            }
            try {
                pasids.attachPasid(dev.group, sd, st.pasid, PasidAttach.Kind.SVA);
            } catch (IoasidException busy) {
                continue;
            }
            e.setValue(e.getValue() + 1);
            return newSva(dev, mm, st, sd);
        }
        DomainImpl sd = state.newDomain(be, be.backend.svaDomainAlloc(mm), DomainType.SVA,
                DomainImpl.Role.SVA, false);
        try {
            pasids.attachPasid(dev.group, sd, st.pasid, PasidAttach.Kind.SVA);
        } catch (RuntimeException e) {
            state.freeHw(sd);
            throw e;
        }
        st.domains.put(sd, 1);
        return newSva(dev, mm, st, sd);
    }

    private SvaHandle newSva(DeviceEntry dev, ProcessAddressSpace mm, MmState st, DomainImpl sd) {
        SvaHandleImpl h = new SvaHandleImpl(state, dev, mm, st.pasid, sd);
        state.svaHandles.add(h);
        st.binds++;
        return h;
    }

    void svaUnbind(SvaHandle handle) {
        state.lock();
        try {
            if (!(handle instanceof SvaHandleImpl h) || h.owner != state
                    || !state.svaHandles.contains(h)) {
                throw err(EINVAL, handle + " is not a live SVA bind of this IOMMU core");
            }
            GroupImpl g = h.device.group;
            PasidAttach pa = g == null ? null : g.pasids.get(h.pasid.id());
            if (pa != null && pa.domain == h.domain) {
                pasids.detachPasid(pa);
            }
            endSva(h);
        } finally {
            state.unlock();
        }
    }

    /** Ends a bind; the SVA domain goes with its last user (rule 37). */
    private void endSva(SvaHandleImpl h) {
        h.live = false;
        state.svaHandles.remove(h);
        MmState st = state.mms.get(h.mm);
        if (st == null) {
            return;
        }
        st.binds--;
        Integer users = st.domains.get(h.domain);
        if (users != null) {
            if (users == 1) {
                st.domains.remove(h.domain);
                if (h.domain.live && !h.domain.inUse()) {
                    state.freeHw(h.domain);
                }
            } else {
                st.domains.put(h.domain, users - 1);
            }
        }
    }

    void mmRelease(ProcessAddressSpace mm) {
        state.lock();
        try {
            MmState st = mm == null ? null : state.mms.get(mm);
            if (st == null) {
                throw err(ENOENT, "no PASID for that address space");
            }
            if (st.binds > 0) {
                throw err(EBUSY, "the address space still has " + st.binds + " binds");
            }
            state.mms.remove(mm);
            IoasidHandle pasid = st.pasid;
            IoasidSet set = st.set;
            // rule 36: the PASID goes with the process, not with its last unbind
            state.actions.add(() -> {
                if (pasid != null) {
                    state.freeQuietly(pasid);
                }
                if (set != null) {
                    try {
                        state.ioasid.freeSet(set);
                    } catch (IoasidException e) {
                        LOG.log(System.Logger.Level.WARNING, "freeing the set of an address "
                                + "space: " + e.getMessage());
                    }
                }
            });
        } finally {
            state.unlock();
        }
    }

    /** Binds on a domain whose backend left end without a backend call; the PASID stays. */
    void domainGone(DomainImpl d) {
        for (SvaHandleImpl h : new ArrayList<>(state.svaHandles)) {
            if (h.domain == d) {
                h.live = false;
                state.svaHandles.remove(h);
                MmState mm = state.mms.get(h.mm);
                if (mm != null) {
                    mm.domains.remove(d);
                    mm.binds--;
                }
            }
        }
    }

    /** Ends the binds of a group on a PASID that was detached under them. */
    void pasidGone(IoasidHandle pasid, GroupImpl g) {
        for (SvaHandleImpl h : new ArrayList<>(state.svaHandles)) {
            if (h.pasid == pasid && h.device.group == g) {
                endSva(h);
            }
        }
    }
}
