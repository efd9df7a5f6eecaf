package ioasid.core.impl;

import static ioasid.core.config.CoreConfigs.config;
import static ioasid.core.config.CoreConfigs.context;
import static ioasid.core.config.CoreConfigs.fromFile;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.osgi.framework.Constants;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.SetState;
import ioasid.api.TokenType;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidAllocator;
import ioasid.api.spi.IoasidListener;
import ioasid.core.config.LogLines;
import ioasid.core.impl.IoasidFixture.Recorder;
import ioasid.core.impl.IoasidFixture.SpaceAllocator;
import ioasid.core.impl.IoasidFixture.SpaceAllocator.Helpers;
import ioasid.testkit.Expect;

/** How the core behaves as a DS component with whiteboards that change under it. */
class WhiteboardLifecycleTest {
    private final IoasidFixture fx = new IoasidFixture(20, 200);
    private final IoasidCore core = fx.core;
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    private ListenerDTO dto(long sid) {
        return fx.listenerDto(sid);
    }

    @Test
    @DisplayName("D12: a system and a set listener of equal ranking keep registration order")
    void tieAcrossScopes() {
        fx.register(new Recorder("set-first", log), IoasidListener.SCOPE, "set",
                IoasidListener.SET_TOKEN, "vm", Constants.SERVICE_RANKING, 100);
        fx.register(new Recorder("system-second", log), Constants.SERVICE_RANKING, 100);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        core.alloc(s, 1, 10, null);
        assertEquals(List.of("set-first:ALLOC 1", "system-second:ALLOC 1"), log);
    }

    @Test
    @DisplayName("a listener removed while events are queued for it is skipped; the rest get them")
    void removedMidStream() {
        Recorder victim = new Recorder("victim", log);
        Recorder other = new Recorder("other", log);
        long sv = fx.register(victim, Constants.SERVICE_RANKING, 1);
        fx.register(other, Constants.SERVICE_RANKING, 2);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        other.action = e -> {
            if (e.type() == EventType.ALLOC && e.id() == 1) {
                core.alloc(s, 1, 10, null); // queued behind this event, for both listeners
                fx.unregister(victim, sv); // the victim's bundle stops mid-stream
            }
        };
        core.alloc(s, 1, 10, null);
        assertEquals(List.of("other:ALLOC 1", "other:ALLOC 2"), log);
    }

    @Test
    @DisplayName("changing a listener's scope or events at runtime re-registers it, with replay")
    void updatedScope() {
        IoasidSet a = core.createSet(TokenType.NONE, "a", 10);
        IoasidSet b = core.createSet(TokenType.NONE, "b", 10);
        core.alloc(a, 1, 10, null);
        core.alloc(b, 1, 10, null);
        Recorder r = new Recorder("r");
        long sid = fx.register(r, IoasidListener.SCOPE, "set", IoasidListener.SET_TOKEN, "a");
        assertEquals(List.of("ALLOC* 1"), r.seen());
        Map<String, Object> p = IoasidFixture.props(IoasidListener.SCOPE, "set",
                IoasidListener.SET_TOKEN, "b");
        p.put(Constants.SERVICE_ID, sid);
        core.updatedListener(r, p);
        assertEquals(List.of("ALLOC* 1", "ALLOC* 2"), r.seen());
        assertEquals(b.id(), dto(sid).setId);
        core.alloc(a, 1, 10, null);
        assertEquals(2, r.events.size(), "no longer hears set a");
    }

    @Test
    @DisplayName("a set listener arriving while its set is FREE_PENDING joins it until it goes")
    void joinFreePendingSet() {
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle h = core.alloc(s, 1, 10, null);
        core.get(h);
        core.free(h);
        core.freeSet(s);
        Recorder r = new Recorder("late");
        long sid = fx.register(r, IoasidListener.SCOPE, "set", IoasidListener.SET_TOKEN, "vm");
        assertEquals(List.of("ALLOC* 1", "FREE* 1"), r.seen());
        core.put(h);
        assertEquals(SetState.FREED, s.state());
        assertEquals(ListenerDTO.PENDING, dto(sid).state);
    }

    @Test
    @DisplayName("nothing of a departed listener or allocator stays reachable from the core")
    void departedPluginsUnreachable() throws InterruptedException {
        Recorder r = new Recorder("gone");
        long sr = fx.register(r);
        Helpers helpers = new Helpers("hostX", 500);
        SpaceAllocator a = new SpaceAllocator(helpers, "a");
        long sa = fx.register(a);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle held = core.alloc(s, 1, 1000, null);
        core.get(held);
        fx.unregister(a, sa); // revoked, and owed to hostX once reclaimed
        core.put(held);
        fx.unregister(r, sr);
        java.lang.ref.WeakReference<Object> listener = new java.lang.ref.WeakReference<>(r);
        java.lang.ref.WeakReference<Object> owedTo = new java.lang.ref.WeakReference<>(helpers);
        r = null;
        a = null;
        helpers = null;
        for (int i = 0; i < 50 && (listener.get() != null || owedTo.get() != null); i++) {
            System.gc();
            Thread.sleep(10);
        }
        org.junit.jupiter.api.Assertions.assertNull(listener.get(), "the listener");
        org.junit.jupiter.api.Assertions.assertNull(owedTo.get(), "the departed helpers");
    }

    @Test
    @DisplayName("a listener token need not be a String")
    void objectTokens() {
        Object mm = new Object();
        Recorder r = new Recorder("r");
        fx.register(r, IoasidListener.SCOPE, "set", IoasidListener.SET_TOKEN, mm,
                IoasidListener.SET_TOKEN_TYPE, "MM");
        IoasidSet s = core.createSet(TokenType.MM, mm, 10);
        core.alloc(s, 1, 10, null);
        assertEquals(List.of("ALLOC 1"), r.seen());
    }

    @Test
    @DisplayName("D14: a listener throwing an Error is contained like an exception")
    void listenerError() {
        fx.register(e -> {
            throw new AssertionError("listener bug");
        });
        Recorder after = new Recorder("after");
        fx.register(after, Constants.SERVICE_RANKING, -1);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        core.free(core.alloc(s, 1, 10, null));
        assertEquals(List.of("ALLOC 1", "FREE 1"), after.seen());
        assertEquals(2, core.stats().listenerFailures);
    }

    @Test
    @Timeout(20)
    @DisplayName("D14: a stalled listener that returns late is not called again, and breaks nothing")
    void stalledThenReturns() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        List<Integer> stuckSaw = Collections.synchronizedList(new ArrayList<>());
        IoasidListener stuck = e -> {
            stuckSaw.add(e.id());
            try {
                release.await();
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        };
        long ss = fx.register(stuck, Constants.SERVICE_RANKING, 5);
        Recorder r = new Recorder("r");
        fx.register(r);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        CompletableFuture<IoasidHandle> first = CompletableFuture.supplyAsync(
                () -> core.alloc(s, 1, 10, null));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (r.events.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        release.countDown();
        first.get(5, TimeUnit.SECONDS);
        core.alloc(s, 1, 10, null);
        assertEquals(List.of(1), stuckSaw);
        assertEquals(List.of("ALLOC 1", "ALLOC 2"), r.seen());
        assertEquals(ListenerDTO.STALLED, dto(ss).state);
        assertEquals(1, dto(ss).delivered, "its late return is still counted");
    }

    @Test
    @DisplayName("allocator fault: a free that throws is counted; the ID is reclaimed regardless")
    void allocatorFreeThrows() {
        fx.register(IoasidFixture.allocator("flaky", (min, max) -> 321, id -> {
            throw new IllegalStateException("host gone");
        }));
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle h = core.alloc(s, 1, 1000, null);
        core.free(h);
        assertEquals(IoasidState.FREE, h.state());
        assertEquals(1, core.stats().allocatorFaults);
        assertEquals(0, s.size());
    }

    @Test
    @DisplayName("allocator fault: a negative ID other than INVALID is EIO and not given back")
    void allocatorNegative() {
        List<Integer> freed = new ArrayList<>();
        fx.register(IoasidFixture.allocator("neg", (min, max) -> -5, freed::add));
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        fx.unchanged(Errno.EIO, () -> core.alloc(s, 1, 1000, null));
        assertEquals(List.of(), freed);
    }

    @Test
    @Timeout(10)
    @DisplayName("rule 65: a set freed while a custom allocation is in flight: that allocation is "
            + "EBUSY, given back, and the set goes")
    void setFreedDuringAllocation() throws Exception {
        IoasidFixture.BlockingAllocator slow = new IoasidFixture.BlockingAllocator(400);
        fx.register(slow);
        core.installCapacity(100);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 30);
        CompletableFuture<IoasidHandle> call = CompletableFuture.supplyAsync(
                () -> core.alloc(s, 1, 1000, null));
        slow.awaitEntered();
        assertEquals(false, core.freeSet(s), "an allocation in flight holds the set");
        assertEquals(SetState.FREE_PENDING, s.state());
        slow.release.countDown();
        ExecutionException e = assertThrows(ExecutionException.class, call::get);
        assertEquals(Errno.EBUSY, ((IoasidException) e.getCause()).errno());
        assertEquals(List.of(400), slow.freed);
        assertEquals(SetState.FREED, s.state());
        assertEquals(100, core.capacity().available);
    }

    @Test
    @DisplayName("rule 77: free-all on a FREE_PENDING set frees what is left and the set goes")
    void freeAllPendingSet() {
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        core.alloc(s, 1, 10, null);
        core.alloc(s, 1, 10, null);
        core.freeSet(s);
        assertEquals(2, core.freeAllInSet(s));
        assertEquals(SetState.FREED, s.state());
        assertEquals(0, core.sets().length);
    }

    @Test
    @DisplayName("a FREE_PENDING set is still found by ID and token until it goes")
    void pendingSetFindable() {
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        core.alloc(s, 1, 10, null);
        core.freeSet(s);
        assertSame(s, core.findSet(s.id()));
        assertSame(s, core.findSet(TokenType.NONE, "vm"));
        Expect.errno(Errno.EEXIST, () -> core.createSet(TokenType.NONE, "vm", 1));
    }

    @Test
    @DisplayName("the DS constructor takes its configuration; bad values are EINVAL")
    void configuration() {
        Map<String, Object> props = new HashMap<>(Map.of("id.bits", 12,
                "listener.stall.timeout.ms", 500L));
        IoasidCore configured = new IoasidCore(config(IoasidCore.Config.class, props), context(),
                props);
        assertEquals(12, configured.capacity().idBits);
        assertEquals(4095, configured.capacity().maxId);
        props.putAll(Map.of("id.bits", 16, "listener.stall.timeout.ms", 800L));
        // the width waits for a restart; the timeout applies
        configured.modified(config(IoasidCore.Config.class, props), context(), props);
        assertEquals(12, configured.capacity().idBits);
        configured.close();
        Expect.errno(Errno.EINVAL, () -> new IoasidCore(0, 100));
        Expect.errno(Errno.EINVAL, () -> new IoasidCore(21, 100));
        Expect.errno(Errno.EINVAL, () -> new IoasidCore(20, 0));
    }

    @Test
    @DisplayName("a refused value in ioasid.core's file: one line, defaults, the core runs")
    void refusedConfiguration() {
        Map<String, Object> props = fromFile("deploy/ioasid.core.config");
        props.put("id.bits", 99);
        LogLines log = new LogLines("ioasid.core");
        log.open();
        try {
            IoasidCore configured = new IoasidCore(config(IoasidCore.Config.class, props),
                    context(), props);
            assertEquals(20, configured.capacity().idBits);
            props.put("id.bits", 20);
            props.put("listener.stall.timeout.ms", 0L);
            configured.modified(config(IoasidCore.Config.class, props), context(), props);
            configured.close();
            assertEquals(List.of("WARNING deploy/ioasid.core.config: id.bits=99 is not in "
                    + "[1, 20]; the IOASID core uses the default of each",
                    "WARNING deploy/ioasid.core.config: listener.stall.timeout.ms=0 is below its "
                    + "minimum 1; the IOASID core keeps its current settings"), log.lines());
        } finally {
            log.close();
        }
    }

    @Test
    @DisplayName("counters follow allocations, reclaims and deliveries")
    void stats() {
        Recorder r = new Recorder("r");
        fx.register(r);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle a = core.alloc(s, 1, 10, null);
        core.alloc(s, 1, 10, null);
        core.free(a);
        var st = core.stats();
        assertEquals(2, st.allocations);
        assertEquals(1, st.reclaims);
        assertEquals(1, st.live);
        assertEquals(3, st.eventsDelivered);
        assertEquals(java.util.List.of("ALLOC", "FREE", "BIND", "UNBIND"),
                java.util.List.copyOf(st.eventsDeliveredByType.keySet()));
        assertEquals(2L, st.eventsDeliveredByType.get("ALLOC"));
        assertEquals(1L, st.eventsDeliveredByType.get("FREE"));
        assertEquals(0L, st.eventsDeliveredByType.get("BIND"));
        assertEquals(0, st.revoked);
    }

    @Test
    @DisplayName("handles and sets describe themselves for logs")
    void describe() {
        IoasidSet s = core.createSet(TokenType.MM, "mm9", 10);
        IoasidHandle h = core.alloc(s, 1, 10, null);
        core.attachSpid(h, 77);
        assertEquals("IOASID 1 [set " + s.id() + ", IDLE, refs 1, spid 77]", h.toString());
        assertTrue(s.toString().contains("MM mm9"), s.toString());
        assertEquals(0, core.ids(null, 0).length);
    }

    @Test
    @DisplayName("the bitmap refuses widths it was not made for")
    void bitmapWidths() {
        assertThrows(IllegalArgumentException.class, () -> new IdBitmap(0));
        assertThrows(IllegalArgumentException.class, () -> new IdBitmap(25));
    }

    @Test
    @DisplayName("allocation through a custom allocator sends ALLOC with the allocator's ID")
    void customAllocEvents() {
        Recorder r = new Recorder("r");
        fx.register(r);
        fx.register(new SpaceAllocator(new Helpers("host", 600), "a"));
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle h = core.alloc(s, 1, 1000, "pd");
        core.free(h);
        assertEquals(List.of("ALLOC 600", "FREE 600"), r.seen());
        assertEquals("pd", r.events.get(0).privateData());
    }
}
