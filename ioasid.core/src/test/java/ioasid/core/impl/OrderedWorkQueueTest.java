package ioasid.core.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import ioasid.api.Errno;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.spi.EventType;
import ioasid.core.impl.IoasidFixture.Recorder;
import ioasid.testkit.Expect;

/** Rule 84: the ordered work queue, and deferring work out of a notification (D14). */
class OrderedWorkQueueTest {
    private final OrderedWorkQueue wq = new OrderedWorkQueue();

    @AfterEach
    void close() {
        wq.close();
    }

    @Test
    @Timeout(10)
    @DisplayName("rule 84: work runs one item at a time, in submission order")
    void ordered() throws Exception {
        List<Integer> ran = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int base = t * 1000;
            threads.add(new Thread(() -> {
                for (int i = 0; i < 200; i++) {
                    int v = base + i;
                    wq.submit(() -> ran.add(v));
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        wq.flush();
        assertEquals(800, ran.size());
        for (int t = 0; t < 4; t++) {
            int last = -1;
            for (int v : ran) {
                if (v / 1000 == t) {
                    assertTrue(v > last, "per-submitter order");
                    last = v;
                }
            }
        }
    }

    @Test
    @Timeout(10)
    @DisplayName("rule 84: a failing item is reported through its stage and does not stop the queue")
    void failureContained() throws Exception {
        CompletableFuture<Void> bad = wq.submit(() -> {
            throw new IllegalStateException("bad item");
        }).toCompletableFuture();
        CompletableFuture<Void> good = wq.submit(() -> { }).toCompletableFuture();
        ExecutionException e = assertThrows(ExecutionException.class, bad::get);
        assertTrue(e.getCause() instanceof IllegalStateException);
        good.get(5, TimeUnit.SECONDS);
    }

    @Test
    @DisplayName("rule 84: null work is EINVAL; a shut-down queue is ENODEV")
    void errors() throws Exception {
        assertEquals(Errno.EINVAL, Expect.errno(Errno.EINVAL, () -> wq.submit(null)).errno());
        wq.close();
        Expect.errno(Errno.ENODEV, () -> wq.submit(() -> { }));
        wq.flush(); // returns: nothing can be queued any more
    }

    @Test
    @Timeout(10)
    @DisplayName("rule 84: flush from inside a work item returns at once instead of waiting forever")
    void flushFromWorker() throws Exception {
        CompletableFuture<Void> item = wq.submit(() -> {
            try {
                wq.flush();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }).toCompletableFuture();
        item.get(5, TimeUnit.SECONDS);
    }

    @Test
    @Timeout(10)
    @DisplayName("rule 84, D14: a FREE handler defers detach_spid and put to the queue, in order")
    void deferFromFreeHandler() throws Exception {
        IoasidFixture fx = new IoasidFixture();
        IoasidCore core = fx.core;
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        Recorder kvm = new Recorder("kvm");
        kvm.action = e -> {
            if (e.type() == EventType.FREE && !e.replay()) {
                IoasidHandle h = e.handle();
                wq.submit(() -> core.detachSpid(h));
                wq.submit(() -> core.put(h));
            }
        };
        fx.register(kvm);
        IoasidHandle h = core.alloc(s, 1, 10, null);
        core.attachSpid(h, 42);
        core.get(h); // kvm's reference, taken before the FREE event (rule 87)
        core.free(h);
        wq.flush();
        assertEquals(IoasidState.FREE, h.state());
        assertEquals(List.of("ALLOC 1", "BIND 1", "FREE 1", "UNBIND 1"), kvm.seen());
    }
}
