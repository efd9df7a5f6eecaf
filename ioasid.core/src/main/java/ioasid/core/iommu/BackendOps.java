package ioasid.core.iommu;

import java.util.concurrent.atomic.LongAdder;

/*
 * What one IOMMU instance was asked to do, for monitoring: attachments programmed, page-table map
 * and unmap calls. Kept by instance name in IommuState like BackendFaults, so a backend that
 * leaves and returns counts on.
 *
 * Rules:
 *  1. map and unmap are the data path: one LongAdder increment per call that reached the
 *     hardware, no lock, nothing allocated (a few nanoseconds, uncontended or not).
 *  2. An attachment is one device moved to a domain (an attach, a replace, a return to a core
 *     domain) or one PASID set or replaced on a device, counted once the switch succeeded.
 */
final class BackendOps {
    final LongAdder attaches = new LongAdder();
    final LongAdder maps = new LongAdder();
    final LongAdder unmaps = new LongAdder();
}
