package ioasid.backend.vtd.impl;

import java.util.Objects;

/**
 * One thing the driver did to keep the unit's caches coherent, in the order issued: a queued
 * invalidation descriptor (256-bit, encoded with the intel-iommu {@code QI_*} field positions), or
 * a write-buffer flush or CPU cache-line flush, which do not go through the queue. Tests read the
 * fields back with the accessors; {@link #toString()} is the operator's form.
 */
record Command(Op op, long qw0, long qw1, long qw2, long qw3) {

    /** Descriptor types with their QI type codes; the last two are not queued. */
    enum Op {
        CC_INV(0x1),
        IOTLB_INV(0x2),
        DEV_TLB_INV(0x3),
        IEC_INV(0x4),
        INV_WAIT(0x5),
        P_IOTLB_INV(0x6),
        PC_INV(0x7),
        P_DEV_TLB_INV(0x8),
        /** Write-buffer flush through the global command register (not queued). */
        WBF(0),
        /** clflush of a table the unit does not snoop (not queued). */
        CLFLUSH(0);

        final int type;

        Op(int type) {
            this.type = type;
        }

        boolean queued() {
            return type != 0;
        }

        static Op ofType(int type) {
            for (Op o : values()) {
                if (o.type == type && type != 0) {
                    return o;
                }
            }
            throw new IllegalArgumentException("descriptor type " + type);
        }
    }

    // context-cache granularity (QI_CC_GRAN)
    static final int CC_GLOBAL = 1;
    static final int CC_DOMAIN = 2;
    static final int CC_DEVICE = 3;
    // IOTLB granularity (DMA_TLB_*_FLUSH >> 60)
    static final int IOTLB_GLOBAL = 1;
    static final int IOTLB_DSI = 2;
    static final int IOTLB_PSI = 3;
    // PASID-based IOTLB granularity (QI_GRAN_NONG_PASID, QI_GRAN_PSI_PASID)
    static final int PIOTLB_PASID = 2;
    static final int PIOTLB_PAGE = 3;
    // PASID-cache granularity (QI_PC_ALL_PASIDS, QI_PC_PASID_SEL, QI_PC_GLOBAL)
    static final int PC_DOMAIN = 0;
    static final int PC_PASID = 1;
    static final int PC_GLOBAL = 3;

    /** The status the invalidation-wait descriptor writes (QI_DONE). */
    static final int QI_DONE = 2;
    static final long IWD_STATUS_WRITE = 1L << 5;
    /** Device-TLB "size order" for the whole address space (64 - VTD_PAGE_SHIFT). */
    static final int DEVTLB_ALL = 64 - PhysMem.PAGE_SHIFT;

    // what a CLFLUSH covered (kept in qw2)
    static final int FLUSH_CONTEXT = 1;
    static final int FLUSH_PASID_DIR = 2;
    static final int FLUSH_PASID_TABLE = 3;
    static final int FLUSH_PASID_ENTRY = 4;

    private static final long PAGE_MASK = ~(PhysMem.PAGE_SIZE - 1);

    // ------------------------------------------------------------------ encoders

    static Command contextCache(int gran, int did, int sid) {
        return new Command(Op.CC_INV, Op.CC_INV.type | (long) gran << 4 | (long) (did & 0xffff) << 16
                | (long) (sid & 0xffff) << 32, 0, 0, 0);
    }

    static Command iotlbDomain(int did) {
        return new Command(Op.IOTLB_INV, Op.IOTLB_INV.type | (long) IOTLB_DSI << 4
                | (long) (did & 0xffff) << 16, 0, 0, 0);
    }

    static Command iotlbGlobal() {
        return new Command(Op.IOTLB_INV, Op.IOTLB_INV.type | (long) IOTLB_GLOBAL << 4, 0, 0, 0);
    }

    static Command iotlbPage(int did, long addr, int am, boolean ih) {
        return new Command(Op.IOTLB_INV, Op.IOTLB_INV.type | (long) IOTLB_PSI << 4
                | (long) (did & 0xffff) << 16, (addr & PAGE_MASK) | (ih ? 1L << 6 : 0) | (am & 0x3f),
                0, 0);
    }

    /** Device-TLB invalidation without PASID ({@code qi_flush_dev_iotlb}). */
    static Command devTlb(int sid, int pfsid, int qdep, long addr, int sizeOrder) {
        long qw0 = Op.DEV_TLB_INV.type | (long) (qdep & 0x1f) << 16 | (long) (sid & 0xffff) << 32
                | pfsid(pfsid);
        return new Command(Op.DEV_TLB_INV, qw0, devTlbAddr(addr, sizeOrder) | (sizeOrder > 0 ? 1 : 0),
                0, 0);
    }

    /** PASID-based device-TLB invalidation ({@code qi_flush_dev_iotlb_pasid}). */
    static Command pasidDevTlb(int sid, int pfsid, int pasid, int qdep, long addr, int sizeOrder) {
        long qw0 = Op.P_DEV_TLB_INV.type | (long) (qdep & 0x1f) << 4 | (long) (sid & 0xffff) << 16
                | (long) (pasid & 0xfffff) << 32 | pfsid(pfsid);
        return new Command(Op.P_DEV_TLB_INV, qw0,
                devTlbAddr(addr, sizeOrder) | (sizeOrder > 0 ? 1L << 11 : 0), 0, 0);
    }

    private static long pfsid(int pfsid) {
        return (long) (pfsid & 0xf) << 12 | (long) ((pfsid >>> 4) & 0xfff) << 52;
    }

    /** The address with the low bits set that encode the size, as the driver builds it. */
    private static long devTlbAddr(long addr, int sizeOrder) {
        if (sizeOrder > 0) {
            addr |= (1L << (PhysMem.PAGE_SHIFT + sizeOrder - 1)) - 1;
        }
        return addr & PAGE_MASK;
    }

    static Command invWait(long statusAddr) {
        return new Command(Op.INV_WAIT, Op.INV_WAIT.type | IWD_STATUS_WRITE | (long) QI_DONE << 32,
                statusAddr, 0, 0);
    }

    static Command pasidIotlb(int did, int pasid) {
        return new Command(Op.P_IOTLB_INV, Op.P_IOTLB_INV.type | (long) PIOTLB_PASID << 4
                | (long) (did & 0xffff) << 16 | (long) (pasid & 0xfffff) << 32, 0, 0, 0);
    }

    static Command pasidIotlbPage(int did, int pasid, long addr, int am, boolean ih) {
        return new Command(Op.P_IOTLB_INV, Op.P_IOTLB_INV.type | (long) PIOTLB_PAGE << 4
                | (long) (did & 0xffff) << 16 | (long) (pasid & 0xfffff) << 32,
                (addr & PAGE_MASK) | (ih ? 1L << 6 : 0) | (am & 0x3f), 0, 0);
    }

    static Command pasidCache(int gran, int did, int pasid) {
        return new Command(Op.PC_INV, Op.PC_INV.type | (long) gran << 4 | (long) (did & 0xffff) << 16
                | (long) (pasid & 0xfffff) << 32, 0, 0, 0);
    }

    static Command writeBufferFlush() {
        return new Command(Op.WBF, 0, 0, 0, 0);
    }

    static Command clflush(long pa, int bytes, int what) {
        return new Command(Op.CLFLUSH, pa, bytes, what, 0);
    }

    // ------------------------------------------------------------------ decoders

    int type() {
        return (int) (qw0 & 0xf);
    }

    /** Domain ID, or -1 for a descriptor without one. */
    int did() {
        switch (op) {
            case CC_INV:
            case IOTLB_INV:
            case P_IOTLB_INV:
            case PC_INV:
                return (int) (qw0 >>> 16) & 0xffff;
            default:
                return -1;
        }
    }

    /** PASID, or -1 for a descriptor without one. */
    int pasid() {
        switch (op) {
            case P_IOTLB_INV:
            case PC_INV:
            case P_DEV_TLB_INV:
                return (int) (qw0 >>> 32) & 0xfffff;
            default:
                return -1;
        }
    }

    /** Source ID (PCI RID), or -1. */
    int sid() {
        switch (op) {
            case CC_INV:
            case DEV_TLB_INV:
                return (int) (qw0 >>> 32) & 0xffff;
            case P_DEV_TLB_INV:
                return (int) (qw0 >>> 16) & 0xffff;
            default:
                return -1;
        }
    }

    int gran() {
        return (int) (qw0 >>> 4) & 0x3;
    }

    long addr() {
        return op == Op.CLFLUSH ? qw0 : qw1 & PAGE_MASK;
    }

    int am() {
        return (int) (qw1 & 0x3f);
    }

    boolean ih() {
        return (qw1 & (1L << 6)) != 0;
    }

    int qdep() {
        return op == Op.DEV_TLB_INV ? (int) (qw0 >>> 16) & 0x1f : (int) (qw0 >>> 4) & 0x1f;
    }

    int pfsid() {
        return (int) ((qw0 >>> 12) & 0xf | ((qw0 >>> 52) & 0xfff) << 4);
    }

    /** For device-TLB descriptors: log2 of the pages covered (0 for one page). */
    int sizeOrder() {
        boolean s = op == Op.DEV_TLB_INV ? (qw1 & 1) != 0 : (qw1 & (1L << 11)) != 0;
        if (!s) {
            return 0;
        }
        return Long.numberOfTrailingZeros(~(qw1 >>> PhysMem.PAGE_SHIFT)) + 1;
    }

    /** First address a page-selective descriptor covers. */
    long rangeStart() {
        return addr() & ~((PhysMem.PAGE_SIZE << am()) - 1);
    }

    /** Last address a page-selective descriptor covers, inclusive. */
    long rangeEnd() {
        return rangeStart() + (PhysMem.PAGE_SIZE << am()) - 1;
    }

    int statusData() {
        return (int) (qw0 >>> 32);
    }

    private static String hex4(int v) {
        return String.format("0x%04x", v);
    }

    private String devTlbRange() {
        int order = sizeOrder();
        return order >= DEVTLB_ALL ? "ALL"
                : "0x" + Long.toHexString(addr() & ~((PhysMem.PAGE_SIZE << order) - 1)) + " order="
                        + order;
    }

    @Override
    public boolean equals(Object o) {
        // written out, not generated: see "Records" in VtdBackend
        return o instanceof Command c && c.op == op && c.qw0 == qw0 && c.qw1 == qw1
                && c.qw2 == qw2 && c.qw3 == qw3;
    }

    @Override
    public int hashCode() {
        int h = Objects.hashCode(op);
        h = 31 * h + Long.hashCode(qw0);
        h = 31 * h + Long.hashCode(qw1);
        h = 31 * h + Long.hashCode(qw2);
        return 31 * h + Long.hashCode(qw3);
    }

    @Override
    public String toString() {
        switch (op) {
            case CC_INV:
                return gran() == CC_DEVICE
                        ? "CC_INV did=" + did() + " sid=" + hex4(sid()) + " gran=DEVICE"
                        : gran() == CC_DOMAIN ? "CC_INV did=" + did() + " gran=DOMAIN"
                                : "CC_INV gran=GLOBAL";
            case IOTLB_INV:
                if (gran() == IOTLB_PSI) {
                    return "IOTLB_INV did=" + did() + " gran=PAGE addr=0x"
                            + Long.toHexString(addr()) + " am=" + am() + " ih=" + (ih() ? 1 : 0);
                }
                return gran() == IOTLB_DSI ? "IOTLB_INV did=" + did() + " gran=DOMAIN"
                        : "IOTLB_INV gran=GLOBAL";
            case DEV_TLB_INV:
                return "DEV_TLB_INV sid=" + hex4(sid()) + " pfsid=" + hex4(pfsid()) + " qdep="
                        + qdep() + " addr=" + devTlbRange();
            case P_DEV_TLB_INV:
                return "P_DEV_TLB_INV sid=" + hex4(sid()) + " pasid=" + pasid() + " pfsid="
                        + hex4(pfsid()) + " qdep=" + qdep() + " addr=" + devTlbRange();
            case INV_WAIT:
                return "INV_WAIT status=" + statusData() + " addr=0x" + Long.toHexString(qw1);
            case P_IOTLB_INV:
                return gran() == PIOTLB_PAGE
                        ? "P_IOTLB_INV did=" + did() + " pasid=" + pasid() + " gran=PAGE addr=0x"
                                + Long.toHexString(addr()) + " am=" + am() + " ih=" + (ih() ? 1 : 0)
                        : "P_IOTLB_INV did=" + did() + " pasid=" + pasid() + " gran=PASID";
            case PC_INV:
                return gran() == PC_PASID
                        ? "PC_INV did=" + did() + " pasid=" + pasid() + " gran=PASID"
                        : gran() == PC_DOMAIN ? "PC_INV did=" + did() + " gran=DOMAIN"
                                : "PC_INV gran=GLOBAL";
            case IEC_INV:
                return "IEC_INV";
            case WBF:
                return "WBF";
            case CLFLUSH:
                String what = qw2 == FLUSH_CONTEXT ? "context entry"
                        : qw2 == FLUSH_PASID_DIR ? "PASID directory entry"
                                : qw2 == FLUSH_PASID_TABLE ? "PASID table" : "PASID entry";
                return "CLFLUSH " + what + " pa=0x" + Long.toHexString(qw0) + " len=" + qw1;
            default:
                throw new AssertionError(op);
        }
    }
}
