package ioasid.health.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.felix.hc.api.Result;
import org.junit.jupiter.api.Test;

import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.dto.BackendDTO;

class IommuFaultsCheckTest {
    final BackendDTO smmu = backend("smmu0");
    final BackendDTO vtd = backend("dmar0");
    BackendDTO[] backends = {smmu, vtd};
    final AtomicLong now = new AtomicLong(1_000_000_000L);

    static BackendDTO backend(String name) {
        BackendDTO b = new BackendDTO();
        b.name = name;
        faults(b, 0, 0);
        return b;
    }

    static void faults(BackendDTO b, long translation, long driver) {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("translation", translation);
        m.put("driver", driver);
        b.faultsByKind = m;
        b.faults = translation + driver;
    }

    IommuFaultsCheck check(Object... config) {
        IommuFaultsCheck c = new IommuFaultsCheck(Fakes.config(IommuFaultsCheck.Config.class,
                config), Map.of());
        c.iommu = Fakes.service(IommuService.class, Map.of("backends", a -> backends));
        c.clock = now::get;
        return c;
    }

    void seconds(long s) {
        now.addAndGet(TimeUnit.SECONDS.toNanos(s));
    }

    @Test
    void okWithoutFaults() {
        Result r = check().execute();
        assertEquals(Result.Status.OK, r.getStatus(), Fakes.text(r));
        assertEquals("2 IOMMU backends, no fault in the last 60 s", Fakes.lines(r).get(0));
    }

    @Test
    void warnThenCriticalThenBackToOkWhenTheWindowPasses() {
        IommuFaultsCheck c = check("window_s", 60, "warn_faults", 2, "critical_faults", 5);
        faults(smmu, 7, 1);
        assertEquals(Result.Status.OK, c.execute().getStatus(), "the first reading is the base");
        seconds(5);
        faults(smmu, 8, 1);
        Result r = c.execute();
        assertEquals(Result.Status.OK, r.getStatus(), "1 fault is below the warning count");
        assertEquals("2 IOMMU backends, fewer than 2 faults each in the last 60 s",
                Fakes.lines(r).get(0));
        seconds(5);
        faults(smmu, 8, 2);
        r = c.execute();
        assertEquals(Result.Status.WARN, r.getStatus(), Fakes.text(r));
        assertTrue(Fakes.lines(r).get(0).startsWith("IOMMU smmu0: 2 faults in the last 60 s "
                + "(translation 1, driver 1; 10 in all)"), Fakes.text(r));
        seconds(5);
        faults(smmu, 11, 2);
        r = c.execute();
        assertEquals(Result.Status.CRITICAL, r.getStatus(), Fakes.text(r));
        assertEquals(1, Fakes.lines(r).size(), "dmar0 had none: " + Fakes.text(r));
        assertTrue(Fakes.lines(r).get(0).contains("5 faults"), Fakes.text(r));
        seconds(61);
        r = c.execute();
        assertEquals(Result.Status.OK, r.getStatus(), "the window passed: " + Fakes.text(r));
    }

    @Test
    void zeroWindowCountsSinceThePreviousExecution() {
        IommuFaultsCheck c = check("window_s", 0);
        c.execute();
        faults(vtd, 1, 0);
        Result r = c.execute();
        assertEquals(Result.Status.WARN, r.getStatus(), Fakes.text(r));
        assertTrue(Fakes.lines(r).get(0).startsWith("IOMMU dmar0: 1 fault since the last check"),
                Fakes.text(r));
        assertEquals(Result.Status.OK, c.execute().getStatus());
    }

    @Test
    void aBackendThatLeftAndReturnedIsMeasuredOn() {
        IommuFaultsCheck c = check();
        faults(smmu, 3, 0);
        c.execute();
        backends = new BackendDTO[] {vtd};
        seconds(1);
        assertEquals(Result.Status.OK, c.execute().getStatus());
        backends = new BackendDTO[] {smmu, vtd};
        faults(smmu, 4, 0);
        seconds(1);
        Result r = c.execute();
        assertEquals(Result.Status.WARN, r.getStatus(), "3 were counted before it left, 1 since: "
                + Fakes.text(r));
        assertTrue(Fakes.lines(r).get(0).contains("1 fault "), Fakes.text(r));
    }

    @Test
    void noIommuCoreIsCritical() {
        IommuFaultsCheck c = check();
        c.iommu = null;
        Result r = c.execute();
        assertEquals(Result.Status.CRITICAL, r.getStatus());
        assertTrue(Fakes.lines(r).get(0).contains("IOMMU core is not registered"));
    }

    @Test
    void aRefusedConfigurationWarnsAndUsesTheDefaults() {
        IommuFaultsCheck c = new IommuFaultsCheck(Fakes.config(IommuFaultsCheck.Config.class),
                Fakes.refused("window.s=-1 is not in [0, 86400]"));
        c.iommu = Fakes.service(IommuService.class, Map.of("backends", a -> backends));
        Result r = c.execute();
        assertEquals(Result.Status.WARN, r.getStatus(), Fakes.text(r));
    }
}
