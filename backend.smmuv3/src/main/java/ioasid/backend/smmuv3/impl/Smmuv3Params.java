package ioasid.backend.smmuv3.impl;

import java.util.Set;

/*
 * The hardware parameters of one SMMU instance: the ID-register fields the model implements
 * (IDR0.CD2L, ASID16, VMID16; IDR1.SSIDSIZE, SIDSIZE; IDR5.OAS; stage 1 and 2; BTM for SVA), the
 * input address size of the page tables and the sizes of the model (table memory, command log).
 *
 * Immutable, and valid once built: every instance passes the same checks, whether it comes from
 * the DS configuration or from a with-method. Equality is over the fields, so a reconfiguration
 * that changes nothing is recognised as such (decision D2: parameters take effect on restart).
 * A final class rather than a record: see "Records" in Smmuv3Backend (D17).
 */
final class Smmuv3Params {
    /** The defaults of the DS configuration: a 16-bit SSID, 16-bit SID, 48-bit SMMU. */
    static final Smmuv3Params DEFAULTS = new Smmuv3Params(16, 16, true, true, true, 48, 48, true,
            true, 65536, 4096);

    /** IDR1.SSIDSIZE: bits of SubstreamID, 0 when the SMMU has no substreams. */
    final int ssidBits;
    /** IDR1.SIDSIZE: bits of StreamID. */
    final int sidBits;
    /** IDR0.CD2L: two-level CD tables. */
    final boolean cd2l;
    /** IDR0.ASID16: 16-bit ASIDs, else 8. */
    final boolean asid16;
    /** IDR0.VMID16: 16-bit VMIDs, else 8. */
    final boolean vmid16;
    /** Input address bits of the page tables. */
    final int ias;
    /** IDR5.OAS in bits. */
    final int oas;
    /** Stage 1 and stage 2: nesting parents and vIOMMUs. */
    final boolean nesting;
    /** Shared virtual addressing with CPU ASIDs (BTM). */
    final boolean sva;
    /** Memory for stream, CD and page tables, in KiB. */
    final long tableMemoryKib;
    /** How many commands the command log keeps. */
    final int commandLogSize;

    private Smmuv3Params(int ssidBits, int sidBits, boolean cd2l, boolean asid16, boolean vmid16,
            int ias, int oas, boolean nesting, boolean sva, long tableMemoryKib,
            int commandLogSize) {
        if (ssidBits < 0 || ssidBits > 20) {
            throw new IllegalArgumentException("SSIDSIZE " + ssidBits + " not in [0, 20]");
        }
        if (sidBits < 1 || sidBits > 32) {
            throw new IllegalArgumentException("SIDSIZE " + sidBits + " not in [1, 32]");
        }
        if (ias < 32 || ias > 48) {
            throw new IllegalArgumentException("IAS " + ias + " not in [32, 48]");
        }
        if (!Set.of(32, 36, 40, 42, 44, 48).contains(oas)) {
            throw new IllegalArgumentException("OAS " + oas + " is not 32, 36, 40, 42, 44, 48");
        }
        if (tableMemoryKib < 64 || commandLogSize < 1) {
            throw new IllegalArgumentException("table memory " + tableMemoryKib
                    + " KiB, command log " + commandLogSize);
        }
        this.ssidBits = ssidBits;
        this.sidBits = sidBits;
        this.cd2l = cd2l;
        this.asid16 = asid16;
        this.vmid16 = vmid16;
        this.ias = ias;
        this.oas = oas;
        this.nesting = nesting;
        this.sva = sva;
        this.tableMemoryKib = tableMemoryKib;
        this.commandLogSize = commandLogSize;
    }

    /**
     * The parameters a configuration names.
     *
     * @throws IllegalArgumentException when a value is out of range
     */
    static Smmuv3Params from(Smmuv3Backend.Config c) {
        return new Smmuv3Params(c.ssid_bits(), c.sid_bits(), c.cd2l(), c.asid16(), c.vmid16(),
                c.ias(), c.oas(), c.nesting(), c.sva(), c.table_memory_kib(),
                c.command_log_size());
    }

    Smmuv3Params withSsidBits(int v) {
        return new Smmuv3Params(v, sidBits, cd2l, asid16, vmid16, ias, oas, nesting, sva,
                tableMemoryKib, commandLogSize);
    }

    Smmuv3Params withSidBits(int v) {
        return new Smmuv3Params(ssidBits, v, cd2l, asid16, vmid16, ias, oas, nesting, sva,
                tableMemoryKib, commandLogSize);
    }

    Smmuv3Params withCd2l(boolean v) {
        return new Smmuv3Params(ssidBits, sidBits, v, asid16, vmid16, ias, oas, nesting, sva,
                tableMemoryKib, commandLogSize);
    }

    Smmuv3Params withAsid16(boolean v) {
        return new Smmuv3Params(ssidBits, sidBits, cd2l, v, vmid16, ias, oas, nesting, sva,
                tableMemoryKib, commandLogSize);
    }

    Smmuv3Params withVmid16(boolean v) {
        return new Smmuv3Params(ssidBits, sidBits, cd2l, asid16, v, ias, oas, nesting, sva,
                tableMemoryKib, commandLogSize);
    }

    /** IAS and OAS together: the page tables' input and output address bits. */
    Smmuv3Params withAddressBits(int inBits, int outBits) {
        return new Smmuv3Params(ssidBits, sidBits, cd2l, asid16, vmid16, inBits, outBits, nesting,
                sva, tableMemoryKib, commandLogSize);
    }

    Smmuv3Params withNesting(boolean v) {
        return new Smmuv3Params(ssidBits, sidBits, cd2l, asid16, vmid16, ias, oas, v, sva,
                tableMemoryKib, commandLogSize);
    }

    Smmuv3Params withSva(boolean v) {
        return new Smmuv3Params(ssidBits, sidBits, cd2l, asid16, vmid16, ias, oas, nesting, v,
                tableMemoryKib, commandLogSize);
    }

    Smmuv3Params withTableMemoryKib(long v) {
        return new Smmuv3Params(ssidBits, sidBits, cd2l, asid16, vmid16, ias, oas, nesting, sva,
                v, commandLogSize);
    }

    Smmuv3Params withCommandLogSize(int v) {
        return new Smmuv3Params(ssidBits, sidBits, cd2l, asid16, vmid16, ias, oas, nesting, sva,
                tableMemoryKib, v);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Smmuv3Params p && p.ssidBits == ssidBits && p.sidBits == sidBits
                && p.cd2l == cd2l && p.asid16 == asid16 && p.vmid16 == vmid16 && p.ias == ias
                && p.oas == oas && p.nesting == nesting && p.sva == sva
                && p.tableMemoryKib == tableMemoryKib && p.commandLogSize == commandLogSize;
    }

    @Override
    public int hashCode() {
        int h = ssidBits;
        h = 31 * h + sidBits;
        h = 31 * h + Boolean.hashCode(cd2l);
        h = 31 * h + Boolean.hashCode(asid16);
        h = 31 * h + Boolean.hashCode(vmid16);
        h = 31 * h + ias;
        h = 31 * h + oas;
        h = 31 * h + Boolean.hashCode(nesting);
        h = 31 * h + Boolean.hashCode(sva);
        h = 31 * h + Long.hashCode(tableMemoryKib);
        return 31 * h + commandLogSize;
    }

    @Override
    public String toString() {
        return "ssid " + ssidBits + " sid " + sidBits + " cd2l " + cd2l + " asid16 " + asid16
                + " vmid16 " + vmid16 + " ias " + ias + " oas " + oas + " nesting " + nesting
                + " sva " + sva + " mem " + tableMemoryKib + " log " + commandLogSize;
    }
}
