package ioasid.backend.smmuv3.impl;

import java.util.ArrayList;
import java.util.List;

import ioasid.api.IoasidException;

/*
 * The order in which context descriptors reach the SMMU (__arm_smmu_write_ctx_desc,
 * arm_smmu_get_cd_ptr). The SMMU caches CDs and L1 CD descriptors and may read a CD's dwords in
 * any order, so every change of a CD table is a sequence of memory writes and CFGI_CD commands,
 * and this class owns that sequence.
 *
 * Rules (kernel-rules.md rules 98, 99):
 *  1. Install = dwords 1-7, CFGI_CD, dword 0 with V, CFGI_CD: the SMMU must observe valid dwords
 *     before it reads V=1.
 *  2. ASID change of a live CD = one write of dword 0, CFGI_CD. The TLB keeps old-ASID entries
 *     until a TLBI of that ASID, which the caller sends.
 *  3. Removal = dword 0 cleared, CFGI_CD.
 *  4. Each CFGI_CD batch covers every (StreamID, SSID) the CD was written for and ends with
 *     CMD_SYNC.
 *  5. A new L1 CD descriptor is followed by CFGI_CD with leaf=0: an invalid L1CD can be cached
 *     (rule 99). A level-2 CD table that cannot be allocated is ENOMEM, and a CD table allocated
 *     for that call is given back.
 *  6. A replace (D25) moves a live CD with EntryWriter (rule 109): a valid CD uses every bit, so
 *     a CD of another domain (ASID and TTB0 change) is a breaking update, one from invalid is
 *     dwords 1-7 then dword 0, and one to invalid clears V first, then the rest.
 *
 * Callers hold the instance lock (see Smmuv3Driver).
 */
final class CdWriter {
    private final PhysMem mem;
    private final CommandQueue cmdq;
    private final boolean cd2l;

    CdWriter(Smmu smmu) {
        this.mem = smmu.mem;
        this.cmdq = smmu.cmdq;
        this.cd2l = smmu.cd2l;
    }

    /**
     * Makes the master's CD table and the level-2 table holding {@code ssid} exist
     * (arm_smmu_get_cd_ptr); on ENOMEM whatever it allocated is given back.
     */
    void prepare(Master m, int ssid) {
        boolean fresh = m.cdTable == null;
        if (fresh) {
            m.cdTable = CdTable.alloc(mem, m.ssidBits, cd2l, null);
        }
        boolean newL1;
        try {
            newL1 = m.cdTable.ensureLeaf(mem, ssid);
        } catch (IoasidException e) {
            if (fresh) {
                m.cdTable.free(mem);
                m.cdTable = null;
            }
            throw e;
        }
        if (newL1) {
            cmdq.submit(List.of(Command.cfgiCd(m.sid, ssid, false)));
        }
    }

    /** Whether the master's CD 0 is valid: the context of its DMA without PASID. */
    boolean cd0Valid(Master m) {
        if (m.cdTable == null) {
            return false;
        }
        long addr = m.cdTable.cdAddress(0);
        return addr >= 0 && Cd.valid(mem.read(addr));
    }

    /** Rule 1: dwords 1-7, CFGI_CD, dword 0 with V=1, CFGI_CD; each CD tagged with its owner. */
    void install(List<Smmuv3Domain.Attachment> refs, long[] cd, Smmuv3Domain owner) {
        for (Smmuv3Domain.Attachment a : refs) {
            long addr = address(a);
            for (int i = 1; i < Cd.DWORDS; i++) {
                mem.write(addr + 8L * i, cd[i]);
            }
        }
        // The SMMU may read the dwords in any order: it must see them before V=1.
        sync(refs);
        for (Smmuv3Domain.Attachment a : refs) {
            long addr = address(a);
            mem.write(addr, cd[0]);
            mem.tag(addr, owner);
        }
        sync(refs);
    }

    /** Rule 2: one write of dword 0 per live CD, then CFGI_CD. */
    void changeAsid(List<Smmuv3Domain.Attachment> refs, int asid) {
        for (Smmuv3Domain.Attachment a : refs) {
            long addr = address(a);
            mem.write(addr, Cd.withAsid(mem.read(addr), asid));
        }
        // Until CD and TLB invalidation both ASIDs may tag this traffic.
        sync(refs);
    }

    /** Rule 3: dword 0 = 0, then CFGI_CD. */
    void remove(List<Smmuv3Domain.Attachment> refs) {
        for (Smmuv3Domain.Attachment a : refs) {
            long addr = address(a);
            mem.write(addr, 0);
            mem.tag(addr, null);
        }
        sync(refs);
    }

    /** Rule 6: the CD at {@code a} becomes {@code cd} (zeros to clear it), tagged at the switch. */
    EntryWriter.Kind update(Smmuv3Domain.Attachment a, long[] cd, Smmuv3Domain owner) {
        long addr = address(a);
        EntryWriter.Place place = new EntryWriter.Place() {
            @Override
            public long read(int dword) {
                return mem.read(addr + 8L * dword);
            }

            @Override
            public void write(int dword, long value) {
                mem.write(addr + 8L * dword, value);
            }

            @Override
            public void sync() {
                CdWriter.this.sync(List.of(a));
            }
        };
        return EntryWriter.write(place, cd, false, () -> mem.tag(addr, owner));
    }

    private static long address(Smmuv3Domain.Attachment a) {
        return a.master().cdTable.cdAddress(a.ssid());
    }

    /** Rule 4: one CFGI_CD per written CD, then CMD_SYNC. */
    private void sync(List<Smmuv3Domain.Attachment> refs) {
        List<Command> batch = new ArrayList<>();
        for (Smmuv3Domain.Attachment a : refs) {
            batch.add(Command.cfgiCd(a.master().sid, a.ssid(), true));
        }
        cmdq.submit(batch);
    }
}
