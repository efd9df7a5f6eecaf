package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Bits.get;
import static ioasid.backend.smmuv3.impl.Bits.hex;
import static ioasid.backend.smmuv3.impl.Bits.prep;

import java.util.Objects;

/**
 * One 16-byte command-queue entry, decoded (arm-smmu-v3.h CMDQ_* layouts). Tests inspect these
 * records; {@link #encode()} gives the two little-endian dwords the hardware reads. Opcodes and
 * field positions are those of kernel-rules.md section 2 "ARM SMMUv3".
 *
 * @param op the opcode
 * @param sid StreamID (CFGI_*, ATC_INV)
 * @param ssid SubstreamID (CFGI_CD, ATC_INV)
 * @param leaf Leaf (CFGI_STE, CFGI_CD, TLBI_*_VA/IPA)
 * @param asid ASID (TLBI_NH_*)
 * @param vmid VMID (TLBI_*; 0 outside nesting)
 * @param addr address (TLBI_NH_VA, TLBI_S2_IPA, ATC_INV)
 * @param size ATC_INV log2 size of the range (52 = everything)
 * @param global ATC_INV Global
 */
public record Command(Op op, long sid, int ssid, boolean leaf, int asid, int vmid, long addr,
        int size, boolean global) {

    /** Command opcodes (CMDQ_OP_*). */
    public enum Op {
        PREFETCH_CFG(0x01),
        CFGI_STE(0x03),
        CFGI_ALL(0x04),
        CFGI_CD(0x05),
        CFGI_CD_ALL(0x06),
        TLBI_NH_ALL(0x10),
        TLBI_NH_ASID(0x11),
        TLBI_NH_VA(0x12),
        TLBI_S12_VMALL(0x28),
        TLBI_S2_IPA(0x2a),
        TLBI_NSNH_ALL(0x30),
        ATC_INV(0x40),
        CMD_SYNC(0x46);

        /** The opcode in bits 7:0 of dword 0. */
        public final int code;

        Op(int code) {
            this.code = code;
        }

        static Op of(int code) {
            for (Op op : values()) {
                if (op.code == code) {
                    return op;
                }
            }
            return null;
        }
    }

    public Command {
        Objects.requireNonNull(op, "op");
    }

    static Command cfgiSte(long sid, boolean leaf) {
        return new Command(Op.CFGI_STE, sid, 0, leaf, 0, 0, 0, 0, false);
    }

    static Command cfgiCd(long sid, int ssid, boolean leaf) {
        return new Command(Op.CFGI_CD, sid, ssid, leaf, 0, 0, 0, 0, false);
    }

    static Command cfgiCdAll(long sid) {
        return new Command(Op.CFGI_CD_ALL, sid, 0, false, 0, 0, 0, 0, false);
    }

    static Command tlbiNhAsid(int asid) {
        return new Command(Op.TLBI_NH_ASID, 0, 0, false, asid, 0, 0, 0, false);
    }

    static Command tlbiNhVa(int asid, long va, boolean leaf) {
        return new Command(Op.TLBI_NH_VA, 0, 0, leaf, asid, 0, va, 0, false);
    }

    static Command tlbiS2Ipa(int vmid, long ipa, boolean leaf) {
        return new Command(Op.TLBI_S2_IPA, 0, 0, leaf, 0, vmid, ipa, 0, false);
    }

    static Command tlbiS12Vmall(int vmid) {
        return new Command(Op.TLBI_S12_VMALL, 0, 0, false, 0, vmid, 0, 0, false);
    }

    static Command sync() {
        return new Command(Op.CMD_SYNC, 0, 0, false, 0, 0, 0, 0, false);
    }

    /** The two dwords of the queue entry, in the layout of arm-smmu-v3.h. */
    public long[] encode() {
        long d0 = prep(7, 0, op.code);
        long d1 = 0;
        switch (op) {
            case PREFETCH_CFG:
            case CFGI_STE:
            case CFGI_CD:
            case CFGI_CD_ALL:
                d0 |= prep(63, 32, sid);
                if (op == Op.CFGI_CD) {
                    d0 |= prep(31, 12, ssid);
                }
                d1 |= leaf ? 1 : 0;
                break;
            case CFGI_ALL:
                d1 |= prep(4, 0, 31); // CFGI_STE_RANGE with Range 31
                break;
            case TLBI_NH_ALL:
            case TLBI_NH_ASID:
            case TLBI_NH_VA:
            case TLBI_S12_VMALL:
            case TLBI_S2_IPA:
            case TLBI_NSNH_ALL:
                d0 |= prep(63, 48, asid) | prep(47, 32, vmid);
                d1 |= (leaf ? 1 : 0) | (addr & Bits.mask(63, 12));
                break;
            case ATC_INV:
                d0 |= prep(63, 32, sid) | prep(31, 12, ssid) | (global ? 1L << 9 : 0)
                        | (ssid != 0 ? 1L << 11 : 0);
                d1 |= prep(5, 0, size) | (addr & Bits.mask(63, 12));
                break;
            case CMD_SYNC:
                d0 |= prep(13, 12, 0); // CS = NONE: completion is polled
                break;
            default:
                break;
        }
        return new long[] {d0, d1};
    }

    /**
     * Reads a queue entry back (used for commands a guest hands to a vIOMMU).
     *
     * @return null for an opcode this model does not know
     */
    static Command decode(long d0, long d1) {
        Op op = Op.of((int) get(d0, 7, 0));
        if (op == null) {
            return null;
        }
        switch (op) {
            case CFGI_STE:
            case CFGI_CD:
            case CFGI_CD_ALL:
            case PREFETCH_CFG:
                return new Command(op, get(d0, 63, 32), (int) get(d0, 31, 12), (d1 & 1) != 0, 0, 0,
                        0, 0, false);
            case ATC_INV:
                return new Command(op, get(d0, 63, 32), (int) get(d0, 31, 12), false, 0, 0,
                        d1 & Bits.mask(63, 12), (int) get(d1, 5, 0), Bits.bit(d0, 9));
            case CMD_SYNC:
            case CFGI_ALL:
                return new Command(op, 0, 0, false, 0, 0, 0, 0, false);
            default:
                return new Command(op, 0, 0, (d1 & 1) != 0, (int) get(d0, 63, 48),
                        (int) get(d0, 47, 32), d1 & Bits.mask(63, 12), 0, false);
        }
    }

    @Override
    public boolean equals(Object o) {
        // written out, not generated: see "Records" in Smmuv3Backend
        return o instanceof Command c && c.op == op && c.sid == sid && c.ssid == ssid
                && c.leaf == leaf && c.asid == asid && c.vmid == vmid && c.addr == addr
                && c.size == size && c.global == global;
    }

    @Override
    public int hashCode() {
        int h = op.hashCode();
        h = 31 * h + Long.hashCode(sid);
        h = 31 * h + ssid;
        h = 31 * h + Boolean.hashCode(leaf);
        h = 31 * h + asid;
        h = 31 * h + vmid;
        h = 31 * h + Long.hashCode(addr);
        h = 31 * h + size;
        return 31 * h + Boolean.hashCode(global);
    }

    /** The operator's form, e.g. "CFGI_CD sid=0x10 ssid=3 leaf=1". */
    @Override
    public String toString() {
        String vm = vmid != 0 ? " vmid=" + vmid : "";
        switch (op) {
            case CFGI_STE:
                return "CFGI_STE sid=" + hex(sid) + " leaf=" + (leaf ? 1 : 0);
            case CFGI_CD:
                return "CFGI_CD sid=" + hex(sid) + " ssid=" + ssid + " leaf=" + (leaf ? 1 : 0);
            case CFGI_CD_ALL:
            case PREFETCH_CFG:
                return op + " sid=" + hex(sid);
            case TLBI_NH_ASID:
                return "TLBI_NH_ASID asid=" + asid + vm;
            case TLBI_NH_VA:
                return "TLBI_NH_VA asid=" + asid + vm + " addr=" + hex(addr) + " leaf="
                        + (leaf ? 1 : 0);
            case TLBI_S2_IPA:
                return "TLBI_S2_IPA vmid=" + vmid + " addr=" + hex(addr) + " leaf="
                        + (leaf ? 1 : 0);
            case TLBI_S12_VMALL:
            case TLBI_NH_ALL:
                return op + " vmid=" + vmid;
            case ATC_INV:
                return "ATC_INV sid=" + hex(sid) + " ssid=" + ssid + " addr=" + hex(addr)
                        + " size=" + size + (global ? " global" : "");
            default:
                return op.name();
        }
    }
}
