package ioasid.api;

import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The ordered work queue of rule 84: listeners hand over work that must not run inside the
 * notification, and it runs one item at a time, in submission order. A failing item is reported
 * and does not stop the items after it.
 */
@ProviderType
public interface IoasidWorkQueue {
    /**
     * Queues work behind everything submitted before.
     *
     * @return completes when the work ran, exceptionally with what it threw
     * @throws IoasidException EINVAL for {@code null} work, ENODEV when the queue is shut down
     */
    CompletionStage<Void> submit(Runnable work);

    /**
     * Waits until everything submitted before this call has run. Called from a work item it
     * returns at once, since waiting there could never end.
     *
     * @throws InterruptedException when the waiting thread is interrupted
     */
    void flush() throws InterruptedException;
}
