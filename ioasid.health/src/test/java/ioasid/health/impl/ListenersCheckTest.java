package ioasid.health.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.felix.hc.api.Result;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidService;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.dto.StatsDTO;

class ListenersCheckTest {
    final StatsDTO stats = new StatsDTO();
    ListenerDTO[] listeners = new ListenerDTO[0];
    final AtomicLong now = new AtomicLong(5_000_000_000L);

    ListenersCheck check(Object... config) {
        ListenersCheck c = new ListenersCheck(Fakes.config(ListenersCheck.Config.class, config),
                Map.of());
        c.ioasid = Fakes.service(IoasidService.class, Map.of(
                "stats", a -> stats, "listeners", a -> listeners));
        c.clock = now::get;
        return c;
    }

    static ListenerDTO listener(long id, String state) {
        ListenerDTO l = new ListenerDTO();
        l.serviceId = id;
        l.name = "gpu-driver";
        l.scope = "system";
        l.state = state;
        l.reason = ListenerDTO.REJECTED.equals(state) ? "no events given" : null;
        return l;
    }

    @Test
    void okWhileEveryListenerReceives() {
        listeners = new ListenerDTO[] {listener(3, ListenerDTO.ACTIVE),
            listener(4, ListenerDTO.PENDING)};
        Result r = check().execute();
        assertEquals(Result.Status.OK, r.getStatus(), Fakes.text(r));
        assertEquals("2 listeners, none stalled", Fakes.lines(r).get(0));
    }

    @Test
    void aStalledListenerIsCriticalUntilItIsGone() {
        ListenersCheck c = check();
        listeners = new ListenerDTO[] {listener(3, ListenerDTO.STALLED)};
        Result r = c.execute();
        assertEquals(Result.Status.CRITICAL, r.getStatus());
        assertEquals("listener gpu-driver (service 3, system) stalled and gets no events since: "
                + "it did not return in time; restart or fix its bundle", Fakes.lines(r).get(0));
        listeners = new ListenerDTO[0];
        assertEquals(Result.Status.OK, c.execute().getStatus());
    }

    @Test
    void failuresWarnForTheWindow() {
        ListenersCheck c = check("failure_window_s", 10);
        c.execute();
        stats.listenerFailures = 2;
        Result r = c.execute();
        assertEquals(Result.Status.WARN, r.getStatus());
        assertEquals("2 listener calls threw in the last 10 s (2 in all); ioasid:listeners shows "
                + "each listener's last failure", Fakes.lines(r).get(0));
        now.addAndGet(TimeUnit.SECONDS.toNanos(11));
        assertEquals(Result.Status.OK, c.execute().getStatus());
    }

    @Test
    void aZeroWindowIgnoresFailures() {
        ListenersCheck c = check("failure_window_s", 0);
        c.execute();
        stats.listenerFailures = 2;
        assertEquals(Result.Status.OK, c.execute().getStatus());
    }

    @Test
    void aRejectedListenerWarns() {
        listeners = new ListenerDTO[] {listener(8, ListenerDTO.REJECTED)};
        Result r = check().execute();
        assertEquals(Result.Status.WARN, r.getStatus());
        assertEquals("listener gpu-driver (service 8) was rejected: no events given",
                Fakes.lines(r).get(0));
    }

    @Test
    void noCoreIsCritical() {
        ListenersCheck c = check();
        c.ioasid = null;
        assertEquals(Result.Status.CRITICAL, c.execute().getStatus());
    }
}
