package ioasid.backend.vtd.impl;

import java.util.concurrent.atomic.AtomicLong;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.spi.IoasidAllocator;

/**
 * The guest's custom PASID allocator over the virtual command interface
 * ({@code intel_vcmd_ioasid_alloc} / {@code _free}, rules 30, 31, 97). Every vIOMMU of the guest
 * registers one with the helpers of the one VMM session they all talk to
 * ({@link VcmdHost#helpers()}), so they form one helper group and share one ID space: "All vIOMMU
 * allocators will eventually be calling the same host allocator". The instance stands for the
 * kernel's pdata, the IOMMU whose registers it uses.
 *
 * <p>The helpers are the session's, not the bundle's: when the last vIOMMU goes the VMM frees the
 * VM's host PASIDs, so IDs the core revoked and still owes to the departed group must not be
 * freed again into the next session, which may have handed the same numbers out anew.
 *
 * <p>Unlike the kernel (rule 31, known bug 8) a free always reaches the host, even when the ID
 * still had private data: the IOASID core has dropped its entry by then, so refusing would leak
 * the host PASID.
 *
 * <p>The guest cannot ask the host for a range (rule 30): a PASID the host picks outside the
 * range asked is freed back at once and the answer is INVALID, which the core reports as ENOSPC,
 * where the kernel would have passed the number on.
 */
final class VcmdAllocator implements IoasidAllocator {
    /** How long to poll VCRSP before giving up. */
    static final int MAX_POLLS = 100_000;

    private static final System.Logger LOG = System.getLogger("ioasid.backend.vtd");

    private final VtdDriver driver;
    private final Object helpers;
    private final AtomicLong invalidFrees = new AtomicLong();
    private final AtomicLong noPasid = new AtomicLong();
    private final AtomicLong outOfRange = new AtomicLong();

    VcmdAllocator(VtdDriver driver, Object helpers) {
        this.driver = driver;
        this.helpers = helpers;
    }

    VtdDriver driver() {
        return driver;
    }

    @Override
    public int alloc(int min, int max) {
        // "VT-d virtual command interface always uses the full 20 bit PASID range"
        if (min < 1 || max > driver.maxPasidId()) {
            return Ioasid.INVALID;
        }
        long res = driver.unit().vcmd.virtualCommand(VcmdHost.CMD_ALLOC, MAX_POLLS);
        int status = (int) (res >>> 1) & 3;
        switch (status) {
            case VcmdHost.SC_SUCCESS:
                int id = (int) (res >>> 8) & Ioasid.MAX_ID;
                if (id < min || id > max) {
                    // rule 30: the host picks from its whole space. The core would refuse a
                    // number outside the range asked as an allocator fault; it goes back to the
                    // host, and the range counts as full.
                    outOfRange.incrementAndGet();
                    free(id);
                    return Ioasid.INVALID;
                }
                return id;
            case VcmdHost.SC_NO_PASID_AVAIL:
                // known bug 7: 2, not 1, means no PASID; INVALID makes the core report ENOSPC
                noPasid.incrementAndGet();
                LOG.log(System.Logger.Level.INFO, "IOMMU " + driver.name()
                        + ": No PASID available");
                return Ioasid.INVALID;
            default:
                throw new IoasidException(Errno.ENODEV, "IOMMU " + driver.name()
                        + ": unexpected VCMD status " + status);
        }
    }

    @Override
    public void free(int id) {
        long res = driver.unit().vcmd.virtualCommand((long) id << 8 | VcmdHost.CMD_FREE,
                MAX_POLLS);
        int status = (int) (res >>> 1) & 3;
        if (status == VcmdHost.SC_INVALID_PASID) {
            invalidFrees.incrementAndGet();
            LOG.log(System.Logger.Level.WARNING, "IOMMU " + driver.name() + ": trying to free "
                    + "invalid PASID " + id);
        } else if (status != VcmdHost.SC_SUCCESS) {
            LOG.log(System.Logger.Level.WARNING, "IOMMU " + driver.name()
                    + ": unexpected VCMD status " + status + " freeing PASID " + id);
        }
    }

    @Override
    public Object helpers() {
        return helpers;
    }

    long invalidFrees() {
        return invalidFrees.get();
    }

    long noPasidAnswers() {
        return noPasid.get();
    }

    long outOfRangeAnswers() {
        return outOfRange.get();
    }

    @Override
    public String toString() {
        return "VT-d VCMD allocator of " + driver.name();
    }
}
