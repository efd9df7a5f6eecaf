package ioasid.backend.smmuv3.impl;

import java.util.Arrays;
import java.util.List;

/*
 * The STE each master needs and the order it reaches the SMMU (arm_smmu_make_*_ste,
 * arm_smmu_install_ste_for_dev).
 *
 * Rules (kernel-rules.md section 2 "ARM SMMUv3"):
 *  1. STE per domain: IDENTITY -> bypass, BLOCKED (or none yet) -> abort, stage-1 paging -> S1
 *     translate through the master's CD table with S1DSS=SSID0 (CD 0 is the domain's context),
 *     nesting parent -> stage-2 translate. While PASIDs are in use under an IDENTITY or BLOCKED
 *     domain the STE keeps the CD table with S1DSS=BYPASS or TERMINATE.
 *  2. A changed STE is written dwords 1-7 first, dword 0 last (Smmu.writeSte), then CFGI_STE and
 *     CMD_SYNC; an unchanged one is not written (only its shadow owner follows the domain).
 *  3. A replace (D25) goes through EntryWriter instead: hitless where one dword carries the
 *     change (rule 109), each step followed by CFGI_STE and CMD_SYNC.
 *
 * Callers hold the instance lock (see Smmuv3Driver).
 */
final class SteWriter {
    private final Smmu smmu;

    SteWriter(Smmu smmu) {
        this.smmu = smmu;
    }

    /** Writes the master's STE if it changes, then CFGI_STE and CMD_SYNC. */
    void install(Master m) {
        long[] target = target(m);
        long[] current = smmu.readSte(m.sid);
        if (Arrays.equals(target, current)) {
            // Same hardware state; only the shadow owner may change (IDENTITY to IDENTITY).
            smmu.mem.tag(smmu.steAddress(m.sid), m.ridDomain);
            return;
        }
        smmu.writeSte(m.sid, target, m.ridDomain);
        smmu.cmdq.submit(List.of(Command.cfgiSte(m.sid, true)));
    }

    /** Rule 3: the STE moved by the entry writer; the shadow owner follows at the switch. */
    EntryWriter.Kind update(Master m) {
        long addr = smmu.steAddress(m.sid);
        EntryWriter.Place place = new EntryWriter.Place() {
            @Override
            public long read(int dword) {
                return smmu.mem.read(addr + 8L * dword);
            }

            @Override
            public void write(int dword, long value) {
                smmu.mem.write(addr + 8L * dword, value);
            }

            @Override
            public void sync() {
                smmu.cmdq.submit(List.of(Command.cfgiSte(m.sid, true)));
            }
        };
        return EntryWriter.write(place, target(m), true, () -> smmu.mem.tag(addr, m.ridDomain));
    }

    /** Rule 1. */
    private static long[] target(Master m) {
        Smmuv3Domain d = m.ridDomain;
        if (d == null) {
            return Ste.abort();
        }
        switch (d.kind) {
            case S1:
                return cdTableSte(m, Ste.S1DSS_SSID0);
            case S2:
                return Ste.s2(d.vmid, vtcr(d.pgtable), d.pgtable.ttb());
            case IDENTITY:
                return m.pasids.isEmpty() ? Ste.bypass() : cdTableSte(m, Ste.S1DSS_BYPASS);
            default:
                return m.pasids.isEmpty() ? Ste.abort() : cdTableSte(m, Ste.S1DSS_TERMINATE);
        }
    }

    private static long[] cdTableSte(Master m, int s1dss) {
        return Ste.cdTable(m.cdTable.root.pa, m.cdTable.s1fmt(), m.cdTable.s1cdmax, s1dss);
    }

    /** VTCR for the STE: T0SZ, SL0, IRGN0, ORGN0, SH0, TG0 (4K), PS. */
    private static long vtcr(IoPgtable pt) {
        int sl0 = 2 - pt.startLevel;
        return Bits.prep(5, 0, 64 - pt.iasBits) | Bits.prep(7, 6, sl0)
                | Bits.prep(9, 8, Cd.RGN_WBWA) | Bits.prep(11, 10, Cd.RGN_WBWA)
                | Bits.prep(13, 12, Cd.SH_IS) | Bits.prep(18, 16, Cd.ips(pt.oasBits));
    }
}
