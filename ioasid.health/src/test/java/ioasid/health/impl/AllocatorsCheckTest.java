package ioasid.health.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.felix.hc.api.Result;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidService;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.StatsDTO;

class AllocatorsCheckTest {
    final StatsDTO stats = new StatsDTO();
    AllocatorDTO[] allocators = new AllocatorDTO[0];
    final AtomicLong now = new AtomicLong(1_000_000_000L);

    AllocatorsCheck check(Object... config) {
        AllocatorsCheck c = new AllocatorsCheck(Fakes.config(AllocatorsCheck.Config.class, config),
                Map.of());
        c.ioasid = Fakes.service(IoasidService.class, Map.of(
                "stats", a -> stats, "allocators", a -> allocators));
        c.clock = now::get;
        return c;
    }

    void seconds(long s) {
        now.addAndGet(TimeUnit.SECONDS.toNanos(s));
    }

    static AllocatorDTO allocator(long id, String state, String reason) {
        AllocatorDTO a = new AllocatorDTO();
        a.serviceId = id;
        a.name = "vcmd" + id;
        a.state = state;
        a.errno = reason == null ? null : "EAGAIN";
        a.reason = reason;
        return a;
    }

    @Test
    void okWithoutFaultsOrWaiting() {
        Result r = check().execute();
        assertEquals(Result.Status.OK, r.getStatus(), Fakes.text(r));
        assertEquals("0 custom allocators, no fault, none waiting longer than 30 s",
                Fakes.lines(r).get(0));
    }

    @Test
    void aFaultIsCriticalForTheWindowThenClears() {
        AllocatorsCheck c = check("fault_window_s", 60);
        stats.allocatorFaults = 2;
        assertEquals(Result.Status.OK, c.execute().getStatus(), "the first reading is the base");
        seconds(5);
        stats.allocatorFaults = 3;
        Result r = c.execute();
        assertEquals(Result.Status.CRITICAL, r.getStatus());
        assertEquals("1 allocator fault in the last 60 s (3 in all): a custom allocator threw or "
                + "returned an unusable ID; the log names it, ioasid:allocators lists them",
                Fakes.lines(r).get(0));
        seconds(30);
        assertEquals(Result.Status.CRITICAL, c.execute().getStatus(), "still in the window");
        seconds(31);
        assertEquals(Result.Status.OK, c.execute().getStatus(), Fakes.text(c.execute()));
    }

    @Test
    void aZeroWindowReportsFaultsSinceTheLastExecutionOnly() {
        AllocatorsCheck c = check("fault_window_s", 0);
        c.execute();
        stats.allocatorFaults = 4;
        Result r = c.execute();
        assertEquals(Result.Status.CRITICAL, r.getStatus());
        assertTrue(Fakes.lines(r).get(0).startsWith("4 allocator faults since the last check"),
                Fakes.text(r));
        assertEquals(Result.Status.OK, c.execute().getStatus());
    }

    @Test
    void waitingBeyondTheLimitWarnsUntilItStopsWaiting() {
        AllocatorsCheck c = check("waiting_max_s", 10);
        allocators = new AllocatorDTO[] {allocator(7, AllocatorDTO.WAITING,
                "the active space holds 3 IDs")};
        assertEquals(Result.Status.OK, c.execute().getStatus());
        seconds(9);
        assertEquals(Result.Status.OK, c.execute().getStatus());
        seconds(1);
        Result r = c.execute();
        assertEquals(Result.Status.WARN, r.getStatus());
        assertEquals("allocator vcmd7 (service 7) has waited 10 s to take over: the active space "
                + "holds 3 IDs; free the IDs of the active space (ioasid:spaces) or stop the "
                + "allocator", Fakes.lines(r).get(0));
        allocators = new AllocatorDTO[] {allocator(7, AllocatorDTO.ACTIVE, null)};
        assertEquals(Result.Status.OK, c.execute().getStatus());
        allocators = new AllocatorDTO[] {allocator(7, AllocatorDTO.WAITING, "again")};
        assertEquals(Result.Status.OK, c.execute().getStatus(), "waiting again starts afresh");
    }

    @Test
    void aRejectedAllocatorWarnsWithTheCoreReason() {
        allocators = new AllocatorDTO[] {allocator(9, AllocatorDTO.REJECTED, "no name")};
        Result r = check().execute();
        assertEquals(Result.Status.WARN, r.getStatus());
        assertEquals("allocator vcmd9 (service 9) was rejected: EAGAIN no name",
                Fakes.lines(r).get(0));
    }

    @Test
    void noCoreIsCritical() {
        AllocatorsCheck c = check();
        c.ioasid = null;
        Result r = c.execute();
        assertEquals(Result.Status.CRITICAL, r.getStatus());
        assertEquals(1, Fakes.lines(r).size());
    }

    @Test
    void aRefusedConfigurationIsNamed() {
        AllocatorsCheck c = new AllocatorsCheck(Fakes.config(AllocatorsCheck.Config.class),
                Fakes.refused("waiting.max.s=0 is not in [1, 86400]"));
        c.ioasid = Fakes.service(IoasidService.class, Map.of(
                "stats", a -> stats, "allocators", a -> allocators));
        Result r = c.execute();
        assertEquals(Result.Status.WARN, r.getStatus());
        assertEquals("/nowhere/deploy/x.config: waiting.max.s=0 is not in [1, 86400]; the "
                + "defaults are used", Fakes.lines(r).get(0));
    }
}
