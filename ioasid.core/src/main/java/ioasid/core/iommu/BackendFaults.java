package ioasid.core.iommu;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/*
 * The faults of one IOMMU instance, as the kernel would count them for it. Kept by instance name
 * in IommuState, so a backend that leaves and returns (a hot-swap) goes on counting where it was.
 *
 * Rules:
 *  1. A translation fault is a DMA the hardware faulted, as a probe walked it: what an SMMUv3
 *     event queue record, a VT-d fault recording register or a virtio-iommu fault event reports
 *     to iommu_report_device_fault (section 2). A probe of a group whose backend left faults
 *     without reaching any hardware and is not counted (D17).
 *  2. A driver fault is a backend call that failed in the driver, not through its caller: any
 *     failure the core can only log (a core domain that does not attach, rule 45; an undo, a
 *     PASID removal, a free or destroy that failed; a device list that could not be read), and a
 *     failure it passes on that is EIO (the device's own error, e.g. a virtio-iommu IOERR or
 *     DEVERR) or not an IoasidException at all. A typed refusal (EINVAL, EOPNOTSUPP, ENOSPC...)
 *     is the caller's, and a refused configuration the operator's: neither is counted here.
 *  3. Counting takes no lock and happens on failure paths only.
 */
final class BackendFaults {
    static final String TRANSLATION = "translation";
    static final String DRIVER = "driver";

    private final LongAdder translation = new LongAdder();
    private final LongAdder driver = new LongAdder();

    void translation() {
        translation.increment();
    }

    void driver() {
        driver.increment();
    }

    /** Counts a failure the core passes on when it is the driver's (rule 2); returns it. */
    <E extends RuntimeException> E passed(E e) {
        if (isDriverFault(e)) {
            driver.increment();
        }
        return e;
    }

    static boolean isDriverFault(RuntimeException e) {
        return !(e instanceof IoasidException ie) || ie.errno() == Errno.EIO;
    }

    long total() {
        return translation.sum() + driver.sum();
    }

    /** The counts by kind, in a fixed order. */
    Map<String, Long> byKind() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put(TRANSLATION, translation.sum());
        m.put(DRIVER, driver.sum());
        return m;
    }
}
