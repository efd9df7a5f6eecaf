package ioasid.core.impl;

import static ioasid.api.spi.IoasidListener.PRIORITY_CPU;
import static ioasid.api.spi.IoasidListener.PRIORITY_DEVICE;
import static ioasid.api.spi.IoasidListener.PRIORITY_IOMMU;
import static ioasid.api.spi.IoasidListener.PRIORITY_LAST;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.osgi.framework.Constants;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;
import ioasid.core.impl.IoasidFixture.Recorder;

/** Notifier chains: rules 78-86; decisions D12-D15. */
class NotificationTest {
    private final IoasidFixture fx = new IoasidFixture(20, 200);
    private final IoasidCore core = fx.core;
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    private ListenerDTO dto(long sid) {
        return fx.listenerDto(sid);
    }

    private static Object[] setScope(Object token, Object... more) {
        List<Object> kv = new ArrayList<>(List.of(IoasidListener.SCOPE, IoasidListener.SCOPE_SET,
                IoasidListener.SET_TOKEN, token));
        kv.addAll(List.of(more));
        return kv.toArray();
    }

    @Test
    @DisplayName("rule 78: events carry id, SPID, set and private data; four types")
    void payload() {
        Recorder r = new Recorder("r");
        fx.register(r);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle h = core.alloc(s, 1, 10, "pd");
        core.attachSpid(h, 101);
        core.detachSpid(h);
        core.free(h);
        assertEquals(List.of("ALLOC 1", "BIND 1", "UNBIND 1", "FREE 1"), r.seen());
        IoasidEvent bind = r.events.get(1);
        assertEquals(1, bind.id());
        assertEquals(101, bind.spid());
        assertSame(s, bind.set());
        assertEquals("pd", bind.privateData());
        assertSame(h, bind.handle());
        assertFalse(bind.replay());
        assertEquals(-1, r.events.get(0).spid());
        assertTrue(r.events.get(0).sequence() < r.events.get(3).sequence());
        assertEquals(4, EventType.values().length);
    }

    @Test
    @DisplayName("rule 79: a system-wide listener hears every set; a set listener only its own")
    void scopes() {
        Recorder all = new Recorder("all");
        Recorder vm1Only = new Recorder("vm1");
        fx.register(all);
        IoasidSet vm1 = core.createSet(TokenType.NONE, "vm1", 10);
        IoasidSet vm2 = core.createSet(TokenType.NONE, "vm2", 10);
        fx.register(vm1Only, setScope("vm1"));
        core.alloc(vm1, 1, 10, null);
        core.alloc(vm2, 1, 10, null);
        assertEquals(List.of("ALLOC 1", "ALLOC 2"), all.seen());
        assertEquals(List.of("ALLOC 1"), vm1Only.seen());
    }

    @Test
    @DisplayName("rule 79: a listener may ask for some event types only")
    void eventFilter() {
        Recorder freeOnly = new Recorder("free");
        fx.register(freeOnly, IoasidListener.EVENTS, new String[] {"FREE"});
        Recorder bindings = new Recorder("bind");
        fx.register(bindings, IoasidListener.EVENTS, "BIND, UNBIND");
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle h = core.alloc(s, 1, 10, null);
        core.attachSpid(h, 3);
        core.free(h);
        assertEquals(List.of("FREE 1"), freeOnly.seen());
        assertEquals(List.of("BIND 1", "UNBIND 1"), bindings.seen());
        assertEquals(List.of("FREE"), List.of(dto(freeOnly.events.isEmpty() ? 0
                : core.listeners()[0].serviceId).events));
    }

    @Test
    @DisplayName("rule 80, D12: CPU, IOMMU, DEVICE, LAST in one order across system and set "
            + "chains, FREE included")
    void orderAcrossChains() {
        fx.register(new Recorder("device", log), setScope("vm",
                Constants.SERVICE_RANKING, PRIORITY_DEVICE));
        fx.register(new Recorder("last", log), Constants.SERVICE_RANKING, PRIORITY_LAST);
        fx.register(new Recorder("iommu", log), Constants.SERVICE_RANKING, PRIORITY_IOMMU);
        fx.register(new Recorder("cpu", log), setScope("vm",
                Constants.SERVICE_RANKING, PRIORITY_CPU));
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle h = core.alloc(s, 1, 10, null);
        log.clear();
        core.free(h);
        assertEquals(List.of("cpu:FREE 1", "iommu:FREE 1", "device:FREE 1", "last:FREE 1"), log);
        String[] chain = Arrays.stream(core.listeners()).map(l -> l.name).toArray(String[]::new);
        assertEquals(List.of("cpu", "iommu", "device", "last"), List.of(chain));
    }

    @Test
    @DisplayName("D12: the extreme rankings order too: MAX_VALUE first, MIN_VALUE last")
    void extremeRankings() {
        fx.register(new Recorder("min", log), Constants.SERVICE_RANKING, Integer.MIN_VALUE);
        fx.register(new Recorder("max", log), Constants.SERVICE_RANKING, Integer.MAX_VALUE);
        fx.register(new Recorder("zero", log));
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        core.alloc(s, 1, 10, null);
        assertEquals(List.of("max:ALLOC 1", "zero:ALLOC 1", "min:ALLOC 1"), log);
        assertEquals("min", core.listeners()[2].name);
    }

    @Test
    @DisplayName("rule 80: equal priorities keep registration order")
    void tiesByRegistration() {
        fx.register(new Recorder("first", log), Constants.SERVICE_RANKING, PRIORITY_IOMMU);
        fx.register(new Recorder("second", log), Constants.SERVICE_RANKING, PRIORITY_IOMMU);
        fx.register(new Recorder("third", log), Constants.SERVICE_RANKING, PRIORITY_IOMMU);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        core.alloc(s, 1, 10, null);
        assertEquals(List.of("first:ALLOC 1", "second:ALLOC 1", "third:ALLOC 1"), log);
    }

    @Test
    @DisplayName("D12: a ranking change at runtime re-orders the chain for later events")
    void reorderAtRuntime() {
        Recorder a = new Recorder("a", log);
        Recorder b = new Recorder("b", log);
        long sa = fx.register(a, Constants.SERVICE_RANKING, PRIORITY_DEVICE);
        fx.register(b, Constants.SERVICE_RANKING, PRIORITY_IOMMU);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        core.alloc(s, 1, 10, null);
        fx.rerank(a, sa, PRIORITY_CPU);
        core.alloc(s, 1, 10, null);
        assertEquals(List.of("b:ALLOC 1", "a:ALLOC 1", "a:ALLOC 2", "b:ALLOC 2"), log);
        assertEquals(2, a.events.size(), "no replay on a ranking change");
    }

    @Test
    @DisplayName("rule 81, D13, D14: a listener that throws stops nothing; it is counted and reported")
    void throwingListenerContained() {
        Recorder before = new Recorder("before", log);
        Recorder after = new Recorder("after", log);
        IoasidListener bad = e -> {
            throw new IllegalStateException("boom on " + e.id());
        };
        fx.register(before, Constants.SERVICE_RANKING, PRIORITY_CPU);
        long sbad = fx.register(bad, Constants.SERVICE_RANKING, PRIORITY_IOMMU,
                IoasidListener.NAME, "bad");
        fx.register(after, Constants.SERVICE_RANKING, PRIORITY_DEVICE);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle h = core.alloc(s, 1, 10, null);
        core.free(h);
        assertEquals(List.of("before:ALLOC 1", "after:ALLOC 1", "before:FREE 1", "after:FREE 1"),
                log);
        assertEquals(IoasidState.FREE, h.state(), "state is consistent");
        assertEquals(2, core.stats().listenerFailures);
        ListenerDTO d = dto(sbad);
        assertEquals(2, d.failures);
        assertTrue(d.lastFailure.contains("boom on 1"), d.lastFailure);
        assertEquals(ListenerDTO.ACTIVE, d.state, "a throwing listener still gets events");
    }

    @Test
    @DisplayName("rule 82: a listener for a token without a set waits, joins the set when it is "
            + "created, and waits again when it is freed")
    void pendingListener() {
        Recorder kvm = new Recorder("kvm");
        Object mm = "mm-42";
        long sid = fx.register(kvm, setScope(mm, IoasidListener.SET_TOKEN_TYPE, "MM"));
        assertEquals(ListenerDTO.PENDING, dto(sid).state);
        IoasidSet s = core.createSet(TokenType.MM, mm, 10);
        assertEquals(ListenerDTO.ACTIVE, dto(sid).state);
        assertEquals(s.id(), dto(sid).setId);
        core.free(core.alloc(s, 1, 10, null));
        assertEquals(List.of("ALLOC 1", "FREE 1"), kvm.seen());
        core.freeSet(s);
        assertEquals(ListenerDTO.PENDING, dto(sid).state);
        IoasidSet again = core.createSet(TokenType.MM, mm, 10);
        core.alloc(again, 5, 10, null);
        assertEquals(List.of("ALLOC 1", "FREE 1", "ALLOC 5"), kvm.seen());
        IoasidSet noneType = core.createSet(TokenType.NONE, mm, 10);
        core.alloc(noneType, 1, 10, null);
        assertEquals(3, kvm.events.size(), "a NONE set with the same token is another set");
    }

    @Test
    @DisplayName("rule 82, D15: a listener for a set that holds IDs gets its state replayed, "
            + "not EBUSY")
    void replayForLateSetListener() {
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle a = core.alloc(s, 1, 10, null);
        IoasidHandle b = core.alloc(s, 1, 10, null);
        IoasidHandle c = core.alloc(s, 1, 10, null);
        core.attachSpid(b, 77);
        core.get(c);
        core.free(c);
        core.free(a);
        Recorder late = new Recorder("late");
        long sid = fx.register(late, setScope("vm"));
        assertEquals(List.of("ALLOC* 2", "BIND* 2", "ALLOC* 3", "FREE* 3"), late.seen());
        assertTrue(late.events.get(0).replay());
        assertEquals(ListenerDTO.ACTIVE, dto(sid).state);
        core.put(c);
        core.free(b);
        assertEquals(List.of("ALLOC* 2", "BIND* 2", "ALLOC* 3", "FREE* 3", "FREE 2", "UNBIND 2"),
                late.seen());
    }

    @Test
    @DisplayName("D15: a late system-wide listener gets every set replayed, honouring its event filter")
    void replayForLateSystemListener() {
        IoasidSet s1 = core.createSet(TokenType.NONE, "vm1", 10);
        IoasidSet s2 = core.createSet(TokenType.NONE, "vm2", 10);
        core.alloc(s1, 1, 10, null);
        IoasidHandle h = core.alloc(s2, 1, 10, null);
        core.attachSpid(h, 9);
        Recorder late = new Recorder("late");
        fx.register(late);
        Recorder bindsOnly = new Recorder("binds");
        fx.register(bindsOnly, IoasidListener.EVENTS, "BIND");
        assertEquals(List.of("ALLOC* 1", "ALLOC* 2", "BIND* 2"), late.seen());
        assertEquals(List.of("BIND* 2"), bindsOnly.seen());
    }

    @Test
    @DisplayName("rule 82: the same listener object registered twice is refused (EEXIST)")
    void duplicateListener() {
        Recorder r = new Recorder("r");
        long first = fx.register(r);
        long dup = fx.register(r);
        assertEquals(ListenerDTO.REJECTED, dto(dup).state);
        assertTrue(dto(dup).reason.startsWith("EEXIST"), dto(dup).reason);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        core.alloc(s, 1, 10, null);
        assertEquals(1, r.events.size(), "delivered once, not twice");
        fx.unregister(r, first);
        assertEquals(ListenerDTO.ACTIVE, dto(dup).state, "the duplicate stands in");
        assertEquals(List.of("ALLOC 1", "ALLOC* 1"), r.seen(), "and is replayed what it missed");
    }

    @Test
    @DisplayName("rule 82: malformed listener properties are refused with EINVAL")
    void badListenerProperties() {
        long s1 = fx.register(new Recorder("a"), IoasidListener.SCOPE, "galaxy");
        long s2 = fx.register(new Recorder("b"), IoasidListener.SCOPE, "set");
        long s3 = fx.register(new Recorder("c"), IoasidListener.EVENTS, "ALLOC,EXPLODE");
        long s4 = fx.register(new Recorder("d"), setScope("x", IoasidListener.SET_TOKEN_TYPE, "PID"));
        long s5 = fx.register(new Recorder("e"), IoasidListener.EVENTS, new String[0]);
        for (long sid : new long[] {s1, s2, s3, s4, s5}) {
            assertEquals(ListenerDTO.REJECTED, dto(sid).state);
            assertTrue(dto(sid).reason.startsWith("EINVAL"), dto(sid).reason);
        }
        IoasidSet s = core.createSet(TokenType.NONE, "x", 10);
        assertEquals(0, s.size());
        assertEquals(0, core.sets()[0].listeners);
    }

    @Test
    @DisplayName("rule 83: an unregistered listener hears nothing more; the others go on")
    void unregister() {
        Recorder a = new Recorder("a");
        Recorder b = new Recorder("b", null);
        long sa = fx.register(a, setScope("vm"));
        fx.register(b);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        core.alloc(s, 1, 10, null);
        fx.unregister(a, sa);
        core.alloc(s, 1, 10, null);
        assertEquals(List.of("ALLOC 1"), a.seen());
        assertEquals(List.of("ALLOC 1", "ALLOC 2"), b.seen());
        assertEquals(1, core.sets()[0].listeners);
    }

    @Test
    @Timeout(10)
    @DisplayName("rule 84, D14: a listener may call back into the core without deadlock; "
            + "what it causes follows the current event")
    void reentrant() {
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        Recorder first = new Recorder("first", log);
        Recorder second = new Recorder("second", log);
        first.action = e -> {
            if (e.type() == EventType.ALLOC && e.id() == 1) {
                IoasidHandle nested = core.alloc(s, 1, 10, null); // re-enters
                core.attachSpid(nested, 50);
                core.free(e.handle());
            }
        };
        fx.register(first, Constants.SERVICE_RANKING, 2);
        fx.register(second, Constants.SERVICE_RANKING, 1);
        core.alloc(s, 1, 10, null);
        assertEquals(List.of(
                "first:ALLOC 1", "second:ALLOC 1",
                "first:ALLOC 2", "second:ALLOC 2",
                "first:BIND 2", "second:BIND 2",
                "first:FREE 1", "second:FREE 1"), log);
    }

    @Test
    @Timeout(20)
    @DisplayName("D14: a listener that stalls is skipped after the timeout and the chain goes on")
    void stalledListener() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Recorder before = new Recorder("before", log);
        Recorder after = new Recorder("after", log);
        IoasidListener stuck = e -> {
            try {
                release.await();
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        };
        fx.register(before, Constants.SERVICE_RANKING, 3);
        long ss = fx.register(stuck, Constants.SERVICE_RANKING, 2, IoasidListener.NAME, "stuck");
        fx.register(after, Constants.SERVICE_RANKING, 1);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        CompletableFuture<IoasidHandle> alloc = CompletableFuture.supplyAsync(
                () -> core.alloc(s, 1, 10, null));
        // the allocating thread is the one stuck in the listener; the chain goes on without it
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (after.events.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(List.of("before:ALLOC 1", "after:ALLOC 1"), log);
        assertEquals(ListenerDTO.STALLED, dto(ss).state);
        assertEquals(1, core.stats().listenerStalls);
        // later events skip it and need no timeout
        IoasidHandle h2 = core.alloc(s, 1, 10, null);
        core.free(h2);
        assertEquals(List.of("before:ALLOC 1", "after:ALLOC 1", "before:ALLOC 2", "after:ALLOC 2",
                "before:FREE 2", "after:FREE 2"), log);
        release.countDown();
        assertEquals(1, alloc.get(5, TimeUnit.SECONDS).id());
    }

    @Test
    @DisplayName("D13: per-ID order holds across an ID's lifetimes")
    void orderAcrossLifetimes() {
        Recorder r = new Recorder("r");
        fx.register(r);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        for (int i = 0; i < 3; i++) {
            IoasidHandle h = core.alloc(s, 4, 4, null);
            core.attachSpid(h, 9);
            core.free(h);
        }
        assertEquals(List.of("ALLOC 4", "BIND 4", "FREE 4", "UNBIND 4",
                "ALLOC 4", "BIND 4", "FREE 4", "UNBIND 4",
                "ALLOC 4", "BIND 4", "FREE 4", "UNBIND 4"), r.seen());
        long last = 0;
        for (IoasidEvent e : r.events) {
            assertTrue(e.sequence() > last);
            last = e.sequence();
        }
    }

    @Test
    @DisplayName("listener snapshots give scope, token, set, events and the delivery record")
    void listenerDto() {
        Recorder r = new Recorder("r");
        long sid = fx.register(r, setScope("vm", Constants.SERVICE_RANKING, PRIORITY_CPU,
                IoasidListener.NAME, "kvm"));
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 10);
        core.alloc(s, 1, 10, null);
        ListenerDTO d = dto(sid);
        assertEquals("kvm", d.name);
        assertEquals(PRIORITY_CPU, d.ranking);
        assertEquals("set", d.scope);
        assertEquals("NONE", d.tokenType);
        assertEquals("vm", d.token);
        assertEquals(s.id(), d.setId);
        assertEquals(4, d.events.length);
        assertEquals(1, d.delivered);
        assertEquals(0, d.failures);
        assertEquals(1, core.stats().eventsDelivered);
    }
}
