package ioasid.backend.vtd.impl;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/**
 * The virtual-command registers of a guest's vIOMMU (DMAR_VCMD_REG, DMAR_VCRSP_REG; rules 30,
 * 97). Writing the command register traps to the VMM ({@link VcmdHost}), which answers in the
 * response register after some polls. They sit behind their own register lock, as in the driver,
 * not behind the driver's lock that guards the rest of the unit.
 */
final class VcmdRegisters {
    /** VCRSP.IP: the command is still in progress. */
    static final long VCRSP_IP = 1L;

    /** ECAP.VCS with VCCAP.PAS: a VMM traps the registers. */
    private final boolean present;
    private final Object registerLock = new Object();
    // guarded by registerLock
    private VcmdHost vcmdHost;
    private long vcmdReg;
    private long vcrspReg;
    private long pendingResponse;
    private int pollsLeft;
    private long vcrspReads;

    VcmdRegisters(boolean present) {
        this.present = present;
    }

    void connect(VcmdHost host) {
        synchronized (registerLock) {
            this.vcmdHost = host;
        }
    }

    /**
     * Writes DMAR_VCMD_REG and polls DMAR_VCRSP_REG until IP clears, under the register lock
     * ({@code IOMMU_WAIT_OP}).
     *
     * @throws IoasidException EIO when the response never completes (the kernel panics:
     *     "DMAR hardware is malfunctioning")
     */
    long virtualCommand(long command, int maxPolls) {
        synchronized (registerLock) {
            writeVcmd(command);
            for (int i = 0; i < maxPolls; i++) {
                long res = readVcrsp();
                if ((res & VCRSP_IP) == 0) {
                    return res;
                }
            }
            throw new IoasidException(Errno.EIO, "VCMD 0x" + Long.toHexString(command)
                    + " still in progress after " + maxPolls + " polls");
        }
    }

    private void writeVcmd(long command) {
        vcmdReg = command;
        if (vcmdHost == null || !present) {
            // nobody traps the register: the response never completes
            vcrspReg = VCRSP_IP;
            pollsLeft = Integer.MAX_VALUE;
            return;
        }
        vcrspReg = VCRSP_IP;
        pendingResponse = vcmdHost.execute(command);
        pollsLeft = vcmdHost.latency();
    }

    private long readVcrsp() {
        vcrspReads++;
        if (pollsLeft > 0) {
            pollsLeft--;
            return vcrspReg;
        }
        vcrspReg = pendingResponse;
        return vcrspReg;
    }

    long vcrspReads() {
        synchronized (registerLock) {
            return vcrspReads;
        }
    }

    long lastVcmd() {
        synchronized (registerLock) {
            return vcmdReg;
        }
    }
}
