package ioasid.jcstress;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.osgi.framework.Constants;

import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidListener;
import ioasid.core.impl.IoasidCore;

/**
 * What the tests share: errno codes for results, small cores, and one core with a FREE counter.
 *
 * <p>Results are numbers: 0 (or a value) for success, the negated Linux errno for an
 * {@link IoasidException} (-2 ENOENT, -16 EBUSY, -22 EINVAL), -99 for any other exception.
 */
final class Races {
    private Races() {
    }

    /**
     * The core logs every allocator switch at INFO; millions of them would drown the results.
     * Held here so the logger, and its level, is not collected.
     */
    private static final java.util.logging.Logger CORE_LOG =
            java.util.logging.Logger.getLogger("ioasid.core");

    static {
        CORE_LOG.setLevel(java.util.logging.Level.WARNING);
    }

    /** The negated errno of a failure, -99 when it is not an IoasidException. */
    static int code(RuntimeException e) {
        return e instanceof IoasidException ie ? -ie.errno().number() : -99;
    }

    /** A small core of its own: 4-bit IDs, so a state object costs little. */
    static IoasidCore smallCore(int bits) {
        return new IoasidCore(bits, 10_000);
    }

    static IoasidSet anySet(IoasidCore core) {
        return core.createSet(TokenType.NONE, null, 0);
    }

    /**
     * One core for the tests that count FREE events: a listener costs a watchdog thread, too
     * much for each state object. Each ID carries its own counter as private data, and every
     * test gives its ID back, so the space does not fill up.
     */
    static final class Shared {
        static final IoasidCore CORE = new IoasidCore(20, 10_000);
        static final IoasidSet SET = anySet(CORE);

        static {
            Map<String, Object> props = Map.of(Constants.SERVICE_ID, 1L,
                    IoasidListener.EVENTS, "FREE", IoasidListener.NAME, "free-counter");
            CORE.bindListener(e -> {
                if (e.type() == EventType.FREE && e.privateData() instanceof AtomicInteger n) {
                    n.incrementAndGet();
                }
            }, props);
        }

        private Shared() {
        }
    }

    /** An ID of the shared core whose FREE events are counted into {@code frees}. */
    static IoasidHandle counted(AtomicInteger frees) {
        return Shared.CORE.alloc(Shared.SET, 1, 0xFFFFF, frees);
    }

    /** Drops whatever references a test left, so the shared space does not fill up. */
    static void drain(IoasidHandle h) {
        try {
            while (h.refCount() > 0) {
                Shared.CORE.put(h);
            }
        } catch (IoasidException stale) {
            // reclaimed meanwhile
        }
    }
}
