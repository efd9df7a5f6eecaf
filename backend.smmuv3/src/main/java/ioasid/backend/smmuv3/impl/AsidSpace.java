package ioasid.backend.smmuv3.impl;

import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOSPC;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

import ioasid.api.IoasidException;
import ioasid.api.iommu.ProcessAddressSpace;

/*
 * The ASIDs of one SMMU (arm_smmu_asid_xa): who holds each stage-1 ASID, a private domain or a
 * process sharing its CPU ASID with the SMMU for SVA.
 *
 * Rules (kernel-rules.md rules 98, 99; known bug 12):
 *  1. A stage-1 domain owns the lowest free ASID of 8 or 16 bits (IDR0.ASID16); none left is
 *     ENOSPC.
 *  2. SVA domains use the process's CPU ASID. A private domain holding that number is given a
 *     new ASID: ASID change of all its live CDs, then TLBI_NH_ASID of the old one and CMD_SYNC
 *     (arm_smmu_share_asid).
 *  3. Every SVA domain of one process shares one refcounted entry, which goes when the last of
 *     them is freed (known bug 12: unbind-bind reuses it); another process on that ASID is
 *     EINVAL.
 *
 * Callers hold the instance lock (see Smmuv3Driver).
 */
final class AsidSpace {
    /** ASID to its holder: a stage-1 Smmuv3Domain or a SharedAsid. */
    private final TreeMap<Integer, Object> holders = new TreeMap<>();
    private final int bits;
    private final PhysMem mem;
    private final CommandQueue cmdq;
    private final CdWriter cds;

    AsidSpace(Smmu smmu, CdWriter cds) {
        this.bits = smmu.asidBits;
        this.mem = smmu.mem;
        this.cmdq = smmu.cmdq;
        this.cds = cds;
    }

    /** Rule 1: the lowest free ASID, not yet taken. */
    int lowestFree() {
        int asid = 1;
        for (int used : holders.keySet()) {
            if (used != asid) {
                break;
            }
            asid++;
        }
        if (asid >= 1 << bits) {
            throw new IoasidException(ENOSPC, "no free ASID (" + bits + " bits)");
        }
        return asid;
    }

    /** The stage-1 domain takes {@code asid}, from {@link #lowestFree()}. */
    void claim(int asid, Smmuv3Domain d) {
        holders.put(asid, d);
    }

    /**
     * Rules 2 and 3: one more SVA domain of {@code mm} on its CPU ASID.
     *
     * @throws IoasidException EINVAL when the ASID does not fit or another process shares it,
     *         ENOSPC when the private domain on it has nowhere to move, ENOMEM
     */
    SharedAsid share(ProcessAddressSpace mm, int asid) {
        if (asid <= 0 || asid >= 1 << bits) {
            throw new IoasidException(EINVAL, "CPU ASID " + asid + " does not fit " + bits
                    + "-bit SMMU ASIDs");
        }
        Object holder = holders.get(asid);
        SharedAsid shared;
        if (holder instanceof SharedAsid s) {
            if (s.mm != mm) {
                throw new IoasidException(EINVAL, "ASID " + asid
                        + " is shared with another process");
            }
            shared = s;
        } else {
            int moveTo = holder == null ? 0 : lowestFree();
            PhysMem.Region pgd = mem.alloc(4096, null);
            shared = new SharedAsid(mm, asid, pgd);
            pgd.owner = shared;
            if (holder instanceof Smmuv3Domain priv) {
                move(priv, moveTo);
            }
            holders.put(asid, shared);
        }
        shared.refs++;
        return shared;
    }

    /**
     * arm_smmu_share_asid: the private domain moves to {@code newAsid}; its live CDs change ASID
     * in one batch, then the old ASID is invalidated.
     */
    private void move(Smmuv3Domain priv, int newAsid) {
        int old = priv.asid;
        holders.put(newAsid, priv);
        priv.asid = newAsid;
        List<Smmuv3Domain.Attachment> live = new ArrayList<>();
        for (Smmuv3Domain.Attachment a : priv.attachments) {
            if (a.master().cdTable != null) {
                live.add(a);
            }
        }
        cds.changeAsid(live, newAsid);
        cmdq.submit(List.of(Command.tlbiNhAsid(old)));
        holders.remove(old);
    }

    /** A freed stage-1 domain gives its ASID back. */
    void release(int asid) {
        holders.remove(asid);
    }

    /** Rule 3: a freed SVA domain; the last one of its process takes the entry with it. */
    void unshare(SharedAsid shared) {
        if (--shared.refs == 0) {
            holders.remove(shared.asid);
            mem.free(shared.pgd);
        }
    }

    /** The holder of an ASID: a domain, a SharedAsid, or null. */
    Object holder(int asid) {
        return holders.get(asid);
    }

    /** Every ASID and its holder, for state snapshots. */
    @Override
    public String toString() {
        return holders.toString();
    }
}
