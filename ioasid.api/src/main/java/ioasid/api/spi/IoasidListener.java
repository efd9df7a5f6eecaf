package ioasid.api.spi;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Receives IOASID events, registered as a whiteboard service (rules 78-86, decisions D12-D15).
 *
 * <h2>Order</h2>
 * System-wide and per-set listeners form one chain ordered by {@code service.ranking}, highest
 * first, ties by lowest {@code service.id}; use the {@code PRIORITY_*} constants so that the CPU
 * is quiesced before the IOMMU, and the IOMMU before devices (D12). Every listener in scope gets
 * every event exactly once; the events of one ID arrive in the order of its transitions (D13). A
 * ranking change re-orders the chain for the events that follow.
 *
 * <h2>Scope</h2>
 * {@link #SCOPE} {@code "system"} (the default) receives the events of every set. {@code "set"}
 * receives the events of the set whose token is {@link #SET_TOKEN} (of type
 * {@link #SET_TOKEN_TYPE}); if no such set exists yet the listener waits and joins the set when it
 * is created, and again for a later set with the same token (rule 82). A listener that arrives
 * while its scope already holds IDs first gets the current state replayed: ALLOC for each ID, BIND
 * for each SPID, FREE for each FREE_PENDING ID, each marked {@link IoasidEvent#replay()} (D15).
 *
 * <h2>Calls</h2>
 * Listeners are called one event at a time, outside the core's locks, and may call back into the
 * {@link ioasid.api.IoasidService}: events caused by such calls are delivered after the current
 * one (D14). An exception is caught, counted and logged; the chain goes on. A listener that does
 * not return within the stall timeout is marked stalled and skipped from then on, the chain goes
 * on without it, and the stall is reported. Work that must not run inside a notification goes to
 * the {@link ioasid.api.IoasidWorkQueue}.
 *
 * <h2>Lock contract</h2>
 * {@link #onEvent} is never called with the core's lock held: events are queued under it and
 * delivered after it is released. See {@link #onEvent} for blocking and calling back.
 */
@ConsumerType
public interface IoasidListener {

    /** Service property (String): {@code "system"} or {@code "set"}. */
    String SCOPE = "ioasid.listener.scope";
    String SCOPE_SYSTEM = "system";
    String SCOPE_SET = "set";

    /** Service property: the token of the set listened to, for scope {@code "set"}. */
    String SET_TOKEN = "ioasid.listener.set.token";

    /** Service property (String): the token's {@link ioasid.api.TokenType} name; default NONE. */
    String SET_TOKEN_TYPE = "ioasid.listener.set.token.type";

    /** Service property (String or String[]): {@link EventType} names wanted; default all. */
    String EVENTS = "ioasid.listener.events";

    /** Service property (String): a name for operators; defaults to the class name. */
    String NAME = "ioasid.listener.name";

    /** {@code service.ranking} for listeners that stop CPUs from using an ID (KVM). */
    int PRIORITY_CPU = 300;
    /** {@code service.ranking} for IOMMU drivers. */
    int PRIORITY_IOMMU = 200;
    /** {@code service.ranking} for device drivers. */
    int PRIORITY_DEVICE = 100;
    /** {@code service.ranking} for listeners with no ordering need. */
    int PRIORITY_LAST = 0;

    /**
     * Receives one event.
     *
     * <p>Called without the core's lock, on the thread whose call caused the event, or on
     * another thread that caused a later one and found this one undelivered (one thread at a
     * time delivers, in sequence order), or, after a stall, on a thread the core starts to carry
     * on. The service call that caused the event returns only once the event went through the
     * chain.
     *
     * <p>It may block, but the caller that caused the event and every caller whose events queue
     * behind it wait meanwhile; after the stall timeout ({@code listener.stall.timeout.ms} of
     * the core's configuration, 10 s by default) the listener is marked stalled and gets no
     * event from then on, and the chain goes on without it. The blocked call is not interrupted.
     *
     * <p>It may call back into the {@link ioasid.api.IoasidService}, on its own thread: such a
     * call does not wait for the events it causes, which are delivered after this one. Waiting
     * for another thread that calls the service to change IDs deadlocks until the stall timeout,
     * as that thread waits for this call to return.
     */
    void onEvent(IoasidEvent event);
}
