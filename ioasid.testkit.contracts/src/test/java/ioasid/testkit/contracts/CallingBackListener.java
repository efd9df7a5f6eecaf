package ioasid.testkit.contracts;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;

/*
 * A listener that calls back as a driver does: it takes a reference on ALLOC and puts it on
 * FREE, and looks the ID up on BIND. Each Mutation breaks the no-blocking contract one way.
 */
final class CallingBackListener implements IoasidListener {
    enum Mutation {
        /** Sleeps on its first FREE, longer than the budget. */
        SLOW,
        /**
         * On its first FREE, allocates an ID and waits for its ALLOC, which comes only after it
         * returns.
         */
        WAITS_FOR_ITS_OWN_EVENT,
        /** Throws on BIND. */
        THROWS
    }

    private final IoasidService service;
    private final Mutation mutation;
    private final Set<IoasidHandle> held = ConcurrentHashMap.newKeySet();
    private volatile IoasidSet shadow;
    private volatile CountDownLatch shadowAlloc;
    private final AtomicBoolean misbehaved = new AtomicBoolean();

    CallingBackListener(IoasidService service, Mutation mutation) {
        this.service = service;
        this.mutation = mutation;
    }

    @Override
    public void onEvent(IoasidEvent e) {
        if (e.set() == shadow) {
            if (e.type() == EventType.ALLOC && shadowAlloc != null) {
                shadowAlloc.countDown();
            }
            return;
        }
        switch (e.type()) {
            case ALLOC:
                try {
                    service.get(e.handle());
                    held.add(e.handle());
                } catch (IoasidException busy) {
                    // freed meanwhile (FREE_PENDING): nothing to hold
                }
                break;
            case BIND:
                if (mutation == Mutation.THROWS) {
                    throw new IllegalStateException("cannot bind " + e);
                }
                service.find(e.set(), e.id());
                break;
            case FREE:
                if (held.remove(e.handle())) {
                    service.put(e.handle());
                }
                misbehaveOnFree();
                break;
            default:
                break;
        }
    }

    private void misbehaveOnFree() {
        if (mutation == null || misbehaved.getAndSet(true)) {
            return;
        }
        try {
            if (mutation == Mutation.SLOW) {
                Thread.sleep(400);
            } else if (mutation == Mutation.WAITS_FOR_ITS_OWN_EVENT) {
                if (shadow == null) {
                    shadow = service.createSet(TokenType.NONE, "shadow-" + System.identityHashCode(
                            this), 1000);
                }
                shadowAlloc = new CountDownLatch(1);
                service.alloc(shadow, 1, Ioasid.MAX_ID, null);
                shadowAlloc.await(1, TimeUnit.SECONDS);
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
    }
}
