package ioasid.core.impl;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/*
 * Changes of the allocator stack for Event Admin, and warnings, queued under the core lock and
 * posted or logged once it is released: Event Admin is code of another bundle, and no such code
 * runs under the lock (IoasidCore's C10). Nothing is dropped silently (D2): every change is
 * posted while an Event Admin is bound, and every warning is logged.
 */
final class AllocatorNotices {
    private static final System.Logger LOG = System.getLogger("ioasid.core");

    private final CoreLock lock;
    /** Posts to Event Admin while one is bound; null otherwise. */
    private volatile EventAdminPoster monitor;
    /** Topic and properties, or null and a warning; guarded by the core lock. */
    private final List<Object[]> notices = new ArrayList<>();
    private volatile boolean pending;

    AllocatorNotices(CoreLock lock) {
        this.lock = lock;
    }

    void monitor(EventAdminPoster poster) {
        monitor = poster;
    }

    /** Queues a change for Event Admin; the caller holds the lock. */
    void notice(String topic, Object... kv) {
        if (monitor == null) {
            return;
        }
        Map<String, Object> props = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            props.put((String) kv[i], kv[i + 1]);
        }
        notices.add(new Object[] {topic, props});
        pending = true;
    }

    /** A warning to log once the lock is released; the caller holds the lock. */
    void warnLater(String message) {
        notices.add(new Object[] {null, message});
        pending = true;
    }

    /** Posts queued changes and logs queued warnings, outside the lock. */
    @SuppressWarnings("unchecked")
    void flush() {
        if (!pending) {
            return;
        }
        List<Object[]> out;
        lock.lock();
        try {
            out = new ArrayList<>(notices);
            notices.clear();
            pending = false;
        } finally {
            lock.unlock();
        }
        EventAdminPoster m = monitor;
        for (Object[] n : out) {
            if (n[0] == null) {
                LOG.log(System.Logger.Level.WARNING, (String) n[1]);
            } else if (m != null) {
                m.post((String) n[0], (Map<String, Object>) n[1]);
            }
        }
    }
}
