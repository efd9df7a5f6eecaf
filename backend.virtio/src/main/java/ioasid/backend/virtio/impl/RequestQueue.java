package ioasid.backend.virtio.impl;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/*
 * The driver's side of the request virtqueue (Linux __viommu_add_req, __viommu_sync_req and
 * viommu_send_req_sync, v5.x). It is guarded by the driver's lock; the device behind it takes its
 * own, so the lock order is driver -> device.
 *
 * Rules:
 *  1. A request is only queued: the device sees nothing until the next kick. A full queue
 *     (VIOMMU_DEFAULT_QUEUE_SIZE, 256) is kicked first.
 *  2. A kick hands every queued request to the device, in queue order, and waits until all are
 *     completed. The status of a request nobody waits for is not read back, as in the driver: it
 *     only counts as an unread failure; the device's log still shows it.
 *  3. A request that waits (ATTACH, DETACH, MAP, PROBE) is queued behind the others and kicked
 *     at once; its own completion is returned.
 */
final class RequestQueue {
    /** VIOMMU_DEFAULT_QUEUE_SIZE: requests the queue holds before the driver must kick. */
    static final int SIZE = 256;

    private final VirtioIommuDevice device;
    private final Deque<Request> queued = new ArrayDeque<>();
    private long kicks;
    private long unreadFailures;

    RequestQueue(VirtioIommuDevice device) {
        this.device = device;
    }

    /** Queues a request without kicking; a full queue is kicked first (__viommu_add_req). */
    void add(Request r) {
        if (queued.size() >= SIZE) {
            sync();
        }
        queued.addLast(r);
    }

    /** Kicks the queue and waits until the device completed everything queued. */
    void sync() {
        if (queued.isEmpty()) {
            return;
        }
        kicks++;
        while (!queued.isEmpty()) {
            RequestRecord r = device.process(queued.removeFirst());
            if (!r.ok()) {
                unreadFailures++; // the driver does not read back queued requests' status
            }
        }
    }

    /** Queues a request, kicks and returns its completion (viommu_send_req_sync). */
    RequestRecord sendSync(Request r) {
        add(r);
        kicks++;
        RequestRecord last = null;
        while (!queued.isEmpty()) {
            Request next = queued.removeFirst();
            RequestRecord done = device.process(next);
            if (next == r) {
                last = done;
            } else if (!done.ok()) {
                unreadFailures++;
            }
        }
        return last;
    }

    /** Requests queued and not yet kicked. */
    List<Request> queued() {
        return new ArrayList<>(queued);
    }

    long kicks() {
        return kicks;
    }

    long unreadFailures() {
        return unreadFailures;
    }
}
