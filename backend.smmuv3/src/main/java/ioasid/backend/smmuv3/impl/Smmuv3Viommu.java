package ioasid.backend.smmuv3.impl;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.EIO;
import static ioasid.api.Errno.ENODEV;
import static ioasid.backend.smmuv3.impl.Bits.hex;
import static ioasid.backend.smmuv3.impl.Smmuv3Driver.err;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;

import ioasid.api.iommu.spi.BackendVdevice;
import ioasid.api.iommu.spi.BackendViommu;

/*
 * A virtual SMMU on a stage-2 nesting parent (arm_vsmmu): it shares the parent's VMID and keeps a
 * vSID table mapping the guest's StreamIDs to physical ones, used to forward the guest's
 * invalidation commands (IHI0070 4.3.7).
 *
 * Rules (kernel-rules.md rules 90-92):
 *  1. A vDevice is a device behind this SMMU (else EINVAL) with a 32-bit vSID; a vSID already in
 *     the table, or a device that already has one, is EEXIST (rule 90).
 *  2. A vDevice is destroyed once (EINVAL after); a vIOMMU is destroyed once, and not while it
 *     has vDevices (EBUSY, rule 92).
 *  3. Guest commands come in pairs of dwords: TLBI_NH_* take the vIOMMU's VMID, TLBI_NSNH_ALL
 *     becomes TLBI_NH_ALL of that VMID, CFGI_CD, CFGI_CD_ALL and ATC_INV have their vSID
 *     replaced by the pSID (EIO for a vSID without a vDevice); any other opcode is EIO. The whole
 *     batch is checked before any command is issued, then issued with one CMD_SYNC.
 *
 * Concurrency: calls take the instance lock (Smmuv3Driver.lock).
 */
final class Smmuv3Viommu implements BackendViommu {
    /** A vSID to pSID entry (the driver's vdevice). */
    final class Vdevice implements BackendVdevice {
        final Master master;
        final long vsid;
        boolean destroyed;

        Vdevice(Master master, long vsid) {
            this.master = master;
            this.vsid = vsid;
        }

        @Override
        public void destroy() {
            lock.lock();
            try {
                if (destroyed) {
                    throw err(EINVAL, "vDevice " + this + " destroyed twice");
                }
                destroyed = true;
                vsids.remove(vsid, this);
            } finally {
                lock.unlock();
            }
        }

        @Override
        public String toString() {
            return "vsid " + Bits.hex(vsid) + " -> " + master.name() + " sid "
                    + Bits.hex(master.sid);
        }
    }

    private final Smmuv3Driver driver;
    private final ReentrantLock lock;
    final Smmuv3Domain parent;
    /** The vSID table. */
    final TreeMap<Long, Vdevice> vsids = new TreeMap<>();
    boolean destroyed;

    Smmuv3Viommu(Smmuv3Driver driver, Smmuv3Domain parent) {
        this.driver = driver;
        this.lock = driver.lock;
        this.parent = parent;
    }

    int vmid() {
        return parent.vmid;
    }

    @Override
    public BackendVdevice vdeviceInit(String device, long virtId) {
        lock.lock();
        try {
            driver.checkOpen();
            if (destroyed) {
                throw err(ENODEV, "the vIOMMU was destroyed");
            }
            Master m = driver.vdeviceMaster(device);
            if (virtId < 0 || virtId > 0xFFFF_FFFFL) {
                throw err(EINVAL, "virtual StreamID " + virtId + " is not 32 bits");
            }
            if (vsids.containsKey(virtId)) {
                throw err(EEXIST, "vSID " + hex(virtId) + " is taken (rule 90)");
            }
            for (Vdevice vd : vsids.values()) {
                if (vd.master == m) {
                    throw err(EEXIST, m.name() + " already has vSID " + hex(vd.vsid));
                }
            }
            Vdevice vd = new Vdevice(m, virtId);
            vsids.put(virtId, vd);
            return vd;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void destroy() {
        lock.lock();
        try {
            if (destroyed) {
                throw err(EINVAL, "vIOMMU destroyed twice");
            }
            if (!vsids.isEmpty()) {
                throw err(EBUSY, "the vIOMMU still has vDevices " + vsids.values()
                        + " (rule 92)");
            }
            destroyed = true;
            driver.viommuDestroyed(this);
        } finally {
            lock.unlock();
        }
    }

    /** A released master loses its vDevice. The caller holds the lock. */
    void forget(Master m) {
        vsids.values().removeIf(vd -> vd.master == m);
    }

    /** The physical StreamID behind a virtual one, or -1. */
    long physicalSid(long vsid) {
        lock.lock();
        try {
            Vdevice vd = vsids.get(vsid);
            return vd == null ? -1 : vd.master.sid;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Forwards a guest's invalidation commands (pairs of dwords) to the physical queue, with the
     * vSID replaced by the pSID and the VMID inserted (arm_vsmmu_convert_user_cmd).
     *
     * @return the number of commands issued, a CMD_SYNC ending them
     */
    int invalidate(long[] raw) {
        if (raw == null || raw.length % 2 != 0) {
            throw err(EINVAL, "commands come in pairs of dwords");
        }
        lock.lock();
        try {
            driver.checkOpen();
            if (destroyed) {
                throw err(ENODEV, "the vIOMMU was destroyed");
            }
            List<Command> out = new ArrayList<>();
            for (int i = 0; i < raw.length; i += 2) {
                out.add(convert(i / 2, raw[i], raw[i + 1]));
            }
            driver.smmu.cmdq.submit(out);
            return out.size();
        } finally {
            lock.unlock();
        }
    }

    /** Rule 3: guest command number {@code n} as the physical queue takes it. */
    private Command convert(int n, long dword0, long dword1) {
        Command c = Command.decode(dword0, dword1);
        if (c == null) {
            throw err(EIO, "command " + n + ": unknown opcode");
        }
        switch (c.op()) {
            case TLBI_NSNH_ALL:
                return new Command(Command.Op.TLBI_NH_ALL, 0, 0, false, 0, vmid(), 0, 0, false);
            case TLBI_NH_ALL:
            case TLBI_NH_ASID:
            case TLBI_NH_VA:
                return new Command(c.op(), 0, 0, c.leaf(), c.asid(), vmid(), c.addr(), 0, false);
            case ATC_INV:
            case CFGI_CD:
            case CFGI_CD_ALL:
                Vdevice vd = vsids.get(c.sid());
                if (vd == null) {
                    throw err(EIO, "command " + n + ": no vDevice for vSID " + hex(c.sid()));
                }
                return new Command(c.op(), vd.master.sid, c.ssid(), c.leaf(), 0, 0, c.addr(),
                        c.size(), c.global());
            default:
                throw err(EIO, "command " + n + ": " + c.op() + " is not for a guest");
        }
    }

    @Override
    public String toString() {
        return "vSMMU vmid " + parent.vmid + " " + vsids.values();
    }
}
