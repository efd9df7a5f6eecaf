package ioasid.runtime.impl;

import java.util.List;
import java.util.Map;

/**
 * Lets Event Admin finish the deliveries a stopping platform started before Event Admin itself
 * stops. Stopping it shuts its thread pool down, which interrupts any delivery still running, and
 * a delivery that finds itself interrupted prints "Event Task Processing Interrupted" although
 * nothing went wrong. Posts come from several threads (the start-level thread, the core's
 * dispatcher, FileInstall's), and Event Admin orders them only per posting thread, so no marker
 * event can say they are all done; its delivery threads can. A thread is delivering while its
 * stack holds a frame of Event Admin's delivery classes (Felix Event Admin 1.6, which the runtime
 * pins); the runtime waits, bounded, until two looks in a row find none.
 */
final class EventDrain {
    /** Felix Event Admin's delivery classes; an idle pool thread runs none of them. */
    private static final String TASKS = "org.apache.felix.eventadmin.impl.tasks.";
    static final List<String> DELIVERY = List.of(TASKS + "AsyncDeliverTasks",
            TASKS + "SyncDeliverTasks", TASKS + "HandlerTask", TASKS + "DenylistLatch");
    private static final long LOOK_MS = 5;

    private EventDrain() {
    }

    /** Whether no delivery was running for two looks in a row within the time given. */
    static boolean await(long timeoutMs) {
        return await(timeoutMs, DELIVERY);
    }

    static boolean await(long timeoutMs, List<String> delivery) {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        int quiet = 0;
        while (quiet < 2) {
            quiet = delivering(Thread.getAllStackTraces(), delivery) ? 0 : quiet + 1;
            if (quiet < 2) {
                if (System.nanoTime() - deadline > 0) {
                    return false;
                }
                try {
                    Thread.sleep(LOOK_MS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return true;
    }

    /** Whether any of the threads, other than the caller, runs one of the delivery classes. */
    static boolean delivering(Map<Thread, StackTraceElement[]> stacks, List<String> delivery) {
        for (Map.Entry<Thread, StackTraceElement[]> e : stacks.entrySet()) {
            if (e.getKey() == Thread.currentThread()) {
                continue;
            }
            for (StackTraceElement frame : e.getValue()) {
                for (String c : delivery) {
                    if (frame.getClassName().startsWith(c)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }
}
