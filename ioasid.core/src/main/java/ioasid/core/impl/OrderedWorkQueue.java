package ioasid.core.impl;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidWorkQueue;

/**
 * Rule 84's ordered work queue ({@code alloc_ordered_workqueue("ioasid_wq")}): one thread, items
 * in submission order, a failing item reported and passed over.
 */
@Component(service = IoasidWorkQueue.class)
public final class OrderedWorkQueue implements IoasidWorkQueue {
    private static final System.Logger LOG = System.getLogger("ioasid.core");

    private final ExecutorService executor;
    private volatile Thread worker;

    public OrderedWorkQueue() {
        executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "ioasid-wq");
                    t.setDaemon(true);
                    worker = t;
                    return t;
                });
    }

    @Override
    public CompletionStage<Void> submit(Runnable work) {
        if (work == null) {
            throw new IoasidException(Errno.EINVAL, "null work");
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    work.run();
                    done.complete(null);
                } catch (Throwable t) {
                    LOG.log(System.Logger.Level.WARNING, "IOASID work item " + work + " failed", t);
                    done.completeExceptionally(t);
                }
            });
        } catch (RejectedExecutionException e) {
            throw new IoasidException(Errno.ENODEV, "the IOASID work queue is shut down");
        }
        return done;
    }

    @Override
    public void flush() throws InterruptedException {
        if (Thread.currentThread() == worker) {
            return;
        }
        CompletableFuture<Void> marker;
        try {
            marker = submit(() -> { }).toCompletableFuture();
        } catch (IoasidException stopped) {
            return; // nothing can still be queued
        }
        try {
            marker.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new AssertionError("an empty work item failed", e);
        }
    }

    @Deactivate
    public void close() {
        executor.shutdown();
    }
}
