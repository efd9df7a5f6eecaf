package ioasid.runtime.impl;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The stopping runtime's wait for Event Admin's deliveries under way. */
class EventDrainTest {
    private static StackTraceElement frame(String cls, String method) {
        return new StackTraceElement(cls, method, null, -1);
    }

    private static final StackTraceElement[] IDLE_POOL_THREAD = {
        frame("jdk.internal.misc.Unsafe", "park"),
        frame("java.util.concurrent.LinkedBlockingQueue", "take"),
        frame("java.util.concurrent.ThreadPoolExecutor", "getTask"),
        frame("java.util.concurrent.ThreadPoolExecutor$Worker", "run"),
        frame("java.lang.Thread", "run")};

    private static final StackTraceElement[] DELIVERING = {
        frame("java.util.concurrent.Semaphore", "tryAcquire"),
        frame("org.apache.felix.eventadmin.impl.tasks.DenylistLatch", "awaitAndDenylistCheck"),
        frame("org.apache.felix.eventadmin.impl.tasks.SyncDeliverTasks", "execute"),
        frame("org.apache.felix.eventadmin.impl.tasks.AsyncDeliverTasks$TaskExecuter", "run"),
        frame("java.util.concurrent.ThreadPoolExecutor$Worker", "run"),
        frame("java.lang.Thread", "run")};

    @Test
    @DisplayName("a thread inside a delivery counts; Event Admin's idle pool threads do not")
    void delivering() {
        Thread other = new Thread(() -> { });
        assertFalse(EventDrain.delivering(Map.of(other, IDLE_POOL_THREAD), EventDrain.DELIVERY));
        assertTrue(EventDrain.delivering(Map.of(other, DELIVERING), EventDrain.DELIVERY));
        assertFalse(EventDrain.delivering(Map.of(Thread.currentThread(), DELIVERING),
                EventDrain.DELIVERY),
                "the waiting thread itself is never waited for");
    }

    @Test
    @DisplayName("the wait ends once no delivery runs, and gives up at its bound")
    void waits() throws Exception {
        assertTrue(EventDrain.await(1000), "nothing delivers in a unit test");
        List<String> fake = List.of(FakeDelivery.class.getName());
        CountDownLatch release = new CountDownLatch(1);
        Thread stuck = new Thread(() -> FakeDelivery.execute(release), "stuck delivery");
        stuck.start();
        try {
            while (!EventDrain.delivering(Thread.getAllStackTraces(), fake)) {
                Thread.sleep(1);
            }
            assertFalse(EventDrain.await(50, fake), "a delivery that does not end is not waited out");
        } finally {
            release.countDown();
            stuck.join();
        }
        assertTrue(EventDrain.await(1000, fake));
    }

    /** Stands for a delivery that runs until released. */
    static final class FakeDelivery {
        static void execute(CountDownLatch release) {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
