package ioasid.core.iommu;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Work that must run after the IOMMU mutex is released, in the order it was queued under it:
 * calls into the IOASID service that send events (notify, put, free). Events are delivered
 * synchronously, and a listener may call back into the IOMMU core; running them under the mutex
 * could deadlock against another thread's delivery.
 *
 * <p>One thread at a time runs the queue. A thread that finds another running it returns at
 * once; the runner takes its work too, so nobody ever waits here.
 */
final class OrderedActions {
    private static final System.Logger LOG = System.getLogger("ioasid.iommu");

    private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();
    private final ReentrantLock runner = new ReentrantLock();

    /** Queues work; the caller holds the IOMMU mutex, which orders the queue. */
    void add(Runnable work) {
        queue.add(work);
    }

    /** Runs what is queued, unless another thread is at it (or this one, further up). */
    void run() {
        while (!queue.isEmpty()) {
            if (runner.isHeldByCurrentThread() || !runner.tryLock()) {
                return;
            }
            try {
                Runnable r;
                while ((r = queue.poll()) != null) {
                    try {
                        r.run();
                    } catch (RuntimeException e) {
                        LOG.log(System.Logger.Level.WARNING, "IOMMU deferred work failed", e);
                    }
                }
            } finally {
                runner.unlock();
            }
        }
    }
}
