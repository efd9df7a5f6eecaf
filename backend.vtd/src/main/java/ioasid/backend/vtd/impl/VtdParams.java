package ioasid.backend.vtd.impl;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/**
 * The hardware parameters of one DMAR unit and the capability registers they encode (CAP, ECAP,
 * VCCAP). The driver reads features back from the register values, as intel-iommu does, so a test
 * can check both the encoding and what the driver made of it. Immutable, validated when built,
 * and compared by value.
 */
final class VtdParams {
    // CAP register (intel-iommu.h cap_* macros)
    static final long CAP_ND_MASK = 0x7L; // 2:0, 2^(4 + 2 * ND) domain IDs
    static final long CAP_RWBF = 1L << 4;
    static final long CAP_CM = 1L << 7;
    static final int CAP_SAGAW_SHIFT = 8; // 12:8, bit 2 = 4-level 48-bit tables
    static final int CAP_MGAW_SHIFT = 16; // 21:16, width - 1
    static final int CAP_SLLPS_SHIFT = 34; // 37:34, bit 0 = 2 MiB, bit 1 = 1 GiB
    static final long CAP_PSI = 1L << 39;
    static final int CAP_MAMV_SHIFT = 48; // 53:48
    static final long CAP_FL1GP = 1L << 56;

    // ECAP register (ecap_* macros)
    static final long ECAP_C = 1L; // page-walk coherency
    static final long ECAP_QI = 1L << 1;
    static final long ECAP_DT = 1L << 2; // device-TLB (ATS)
    static final long ECAP_PT = 1L << 6; // pass-through
    static final long ECAP_NEST = 1L << 26;
    static final int ECAP_PSS_SHIFT = 35; // 39:35, N means N + 1 PASID bits
    static final long ECAP_PASID = 1L << 40;
    static final long ECAP_SMTS = 1L << 43;
    static final long ECAP_VCS = 1L << 44;
    static final long ECAP_SLTS = 1L << 46;
    static final long ECAP_FLTS = 1L << 47;
    static final long ECAP_SMPWC = 1L << 48;

    // VCCAP register
    static final long VCCAP_PAS = 1L; // DMA_VCS_PAS

    /** The only table format modelled: 4-level, 48-bit input (SAGAW bit 2, AW field 2). */
    static final int AGAW_48 = 2;
    static final int ADDRESS_BITS = 48;

    final int pss;
    final boolean cachingMode;
    final boolean scalableMode;
    final boolean firstLevel;
    final boolean secondLevel;
    final boolean passThrough;
    final boolean nesting;
    final boolean vcmd;
    final boolean coherent;
    final boolean faultIgnore;
    final boolean ats;
    final boolean rwbf;
    final int nd;
    final int superpages;
    final int mamv;

    private VtdParams(Builder b) {
        if (b.pss < 0 || b.pss > 19) {
            throw new IoasidException(Errno.EINVAL, "PSS " + b.pss + " not in [0, 19] (20-bit PASIDs)");
        }
        if (b.nd < 0 || b.nd > 6) {
            throw new IoasidException(Errno.EINVAL, "CAP.ND " + b.nd + " not in [0, 6]");
        }
        if (b.superpages < 0 || b.superpages > 3) {
            throw new IoasidException(Errno.EINVAL, "CAP.SLLPS " + b.superpages + " not in [0, 3]");
        }
        if (b.mamv < 0 || b.mamv > 63) {
            throw new IoasidException(Errno.EINVAL, "CAP.MAMV " + b.mamv + " not in [0, 63]");
        }
        pss = b.pss;
        cachingMode = b.cachingMode;
        scalableMode = b.scalableMode;
        firstLevel = b.firstLevel;
        secondLevel = b.secondLevel;
        passThrough = b.passThrough;
        nesting = b.nesting;
        vcmd = b.vcmd;
        coherent = b.coherent;
        faultIgnore = b.faultIgnore;
        ats = b.ats;
        rwbf = b.rwbf;
        nd = b.nd;
        superpages = b.superpages;
        mamv = b.mamv;
    }

    static Builder builder() {
        return new Builder();
    }

    /** The parameters a configuration names. */
    static VtdParams from(VtdBackend.Config c) {
        return builder().pss(c.pss()).cachingMode(c.caching_mode())
                .scalableMode(c.scalable_mode()).firstLevel(c.first_level())
                .secondLevel(c.second_level()).passThrough(c.pass_through()).nesting(c.nesting())
                .vcmd(c.vcmd()).coherent(c.coherent()).faultIgnore(c.fault_ignore()).ats(c.ats())
                .rwbf(c.rwbf()).nd(c.nd()).superpages(c.superpages()).mamv(c.mamv()).build();
    }

    Builder toBuilder() {
        Builder b = new Builder();
        b.pss = pss;
        b.cachingMode = cachingMode;
        b.scalableMode = scalableMode;
        b.firstLevel = firstLevel;
        b.secondLevel = secondLevel;
        b.passThrough = passThrough;
        b.nesting = nesting;
        b.vcmd = vcmd;
        b.coherent = coherent;
        b.faultIgnore = faultIgnore;
        b.ats = ats;
        b.rwbf = rwbf;
        b.nd = nd;
        b.superpages = superpages;
        b.mamv = mamv;
        return b;
    }

    long cap() {
        long c = nd & CAP_ND_MASK;
        if (rwbf) {
            c |= CAP_RWBF;
        }
        if (cachingMode) {
            c |= CAP_CM;
        }
        c |= (1L << AGAW_48) << CAP_SAGAW_SHIFT;
        c |= (long) (ADDRESS_BITS - 1) << CAP_MGAW_SHIFT;
        c |= (long) superpages << CAP_SLLPS_SHIFT;
        c |= CAP_PSI;
        c |= (long) mamv << CAP_MAMV_SHIFT;
        if (firstLevel) {
            c |= CAP_FL1GP;
        }
        return c;
    }

    long ecap() {
        long e = ECAP_QI;
        if (coherent) {
            e |= ECAP_C | ECAP_SMPWC;
        }
        if (ats) {
            e |= ECAP_DT;
        }
        if (passThrough) {
            e |= ECAP_PT;
        }
        if (nesting) {
            e |= ECAP_NEST;
        }
        if (scalableMode) {
            e |= ECAP_SMTS | ECAP_PASID | (long) pss << ECAP_PSS_SHIFT;
            if (firstLevel) {
                e |= ECAP_FLTS;
            }
            if (secondLevel) {
                e |= ECAP_SLTS;
            }
        }
        if (vcmd) {
            e |= ECAP_VCS;
        }
        return e;
    }

    long vccap() {
        return vcmd ? VCCAP_PAS : 0;
    }

    /** Whether a change to these parameters needs the unit to restart (all but none do). */
    boolean sameHardware(VtdParams o) {
        return cap() == o.cap() && ecap() == o.ecap() && vccap() == o.vccap()
                && faultIgnore == o.faultIgnore;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VtdParams p && pss == p.pss && cachingMode == p.cachingMode
                && scalableMode == p.scalableMode && firstLevel == p.firstLevel
                && secondLevel == p.secondLevel && passThrough == p.passThrough
                && nesting == p.nesting && vcmd == p.vcmd && coherent == p.coherent
                && faultIgnore == p.faultIgnore && ats == p.ats && rwbf == p.rwbf && nd == p.nd
                && superpages == p.superpages && mamv == p.mamv;
    }

    @Override
    public int hashCode() {
        int h = pss;
        h = 31 * h + Boolean.hashCode(cachingMode);
        h = 31 * h + Boolean.hashCode(scalableMode);
        h = 31 * h + Boolean.hashCode(firstLevel);
        h = 31 * h + Boolean.hashCode(secondLevel);
        h = 31 * h + Boolean.hashCode(passThrough);
        h = 31 * h + Boolean.hashCode(nesting);
        h = 31 * h + Boolean.hashCode(vcmd);
        h = 31 * h + Boolean.hashCode(coherent);
        h = 31 * h + Boolean.hashCode(faultIgnore);
        h = 31 * h + Boolean.hashCode(ats);
        h = 31 * h + Boolean.hashCode(rwbf);
        h = 31 * h + nd;
        h = 31 * h + superpages;
        return 31 * h + mamv;
    }

    @Override
    public String toString() {
        return "cap=0x" + Long.toHexString(cap()) + " ecap=0x" + Long.toHexString(ecap())
                + " vccap=0x" + Long.toHexString(vccap()) + (faultIgnore ? " fault_ignore" : "");
    }

    /** Parameters with the defaults of a bare-metal scalable-mode unit. */
    static final class Builder {
        int pss = 19;
        boolean cachingMode;
        boolean scalableMode = true;
        boolean firstLevel = true;
        boolean secondLevel = true;
        boolean passThrough = true;
        boolean nesting;
        boolean vcmd;
        boolean coherent = true;
        boolean faultIgnore;
        boolean ats = true;
        boolean rwbf = true;
        int nd = 6;
        int superpages = 3;
        int mamv = 9;

        Builder pss(int v) {
            pss = v;
            return this;
        }

        Builder cachingMode(boolean v) {
            cachingMode = v;
            return this;
        }

        Builder scalableMode(boolean v) {
            scalableMode = v;
            return this;
        }

        Builder firstLevel(boolean v) {
            firstLevel = v;
            return this;
        }

        Builder secondLevel(boolean v) {
            secondLevel = v;
            return this;
        }

        Builder passThrough(boolean v) {
            passThrough = v;
            return this;
        }

        Builder nesting(boolean v) {
            nesting = v;
            return this;
        }

        Builder vcmd(boolean v) {
            vcmd = v;
            return this;
        }

        Builder coherent(boolean v) {
            coherent = v;
            return this;
        }

        Builder faultIgnore(boolean v) {
            faultIgnore = v;
            return this;
        }

        Builder ats(boolean v) {
            ats = v;
            return this;
        }

        Builder rwbf(boolean v) {
            rwbf = v;
            return this;
        }

        Builder nd(int v) {
            nd = v;
            return this;
        }

        Builder superpages(int v) {
            superpages = v;
            return this;
        }

        Builder mamv(int v) {
            mamv = v;
            return this;
        }

        /** A guest's vIOMMU as QEMU offers it: caching mode, 8-bit PASIDs, virtual commands. */
        Builder qemuGuest() {
            return cachingMode(true).pss(7).vcmd(true);
        }

        VtdParams build() {
            return new VtdParams(this);
        }
    }
}
