package ioasid.integration.osgi;

import static ioasid.testkit.osgi.IoasidPlatform.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import javax.inject.Inject;

import org.apache.felix.hc.api.Result;
import org.apache.felix.hc.api.ResultLog;
import org.apache.felix.hc.api.execution.HealthCheckExecutionResult;
import org.apache.felix.hc.api.execution.HealthCheckExecutor;
import org.apache.felix.hc.api.execution.HealthCheckSelector;
import org.apache.felix.service.command.CommandProcessor;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.ExamFactory;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.ops4j.pax.exam.util.Filter;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.condition.Condition;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.Translation;
import ioasid.api.spi.IoasidAllocator;
import ioasid.api.spi.IoasidListener;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.osgi.Shell;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * The platform with its health checks and Felix Health Checks: each check goes CRITICAL or WARN
 * with a line naming what is wrong, and back; the readiness condition {@code felix.hc.readiness}
 * follows the IOMMU instances (a FAILED instance, a stopped backend bundle) and nothing else (a
 * stalled listener, a waiting or faulty allocator, a nearly full space); the checks answer
 * {@code hc:exec} in Gogo.
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class HealthChecksIT {
    static final String READINESS = "(" + Condition.CONDITION_ID + "=felix.hc.readiness)";
    static final String INSTANCES = "IOMMU instances";
    static final String LISTENERS = "IOASID listeners";
    static final String CAPACITY = "IOASID capacity";
    static final String ALLOCATORS = "IOASID allocators";
    static final String FAULTS = "IOMMU faults";

    @Inject
    BundleContext ctx;

    @Inject
    ConfigurationAdmin ca;

    @Inject
    @Filter(IoasidPlatform.OWN_SPACE)
    IoasidService ioasid;

    IoasidPlatform platform;

    @Configuration
    public Option[] config() {
        List<Option> options = new ArrayList<>(List.of(IoasidOptions.platform(),
                IoasidOptions.backends(), IoasidOptions.shell(), IoasidOptions.health()));
        return options.toArray(new Option[0]);
    }

    @Before
    public void setUp() throws Exception {
        platform = IoasidPlatform.ready(ctx);
        platform.configure(Configs.smmu("smmu0", "0000:00:01.0;sid=0x8;pasid=16"),
                Configs.vtd("dmar0", "0000:01:00.0;pasid=20"));
        platform.awaitBackends("smmu0", "dmar0");
    }

    private List<HealthCheckExecutionResult> execute(String name) {
        ServiceReference<HealthCheckExecutor> ref = ctx.getServiceReference(
                HealthCheckExecutor.class);
        if (ref == null) {
            return List.of();
        }
        HealthCheckExecutor executor = ctx.getService(ref);
        try {
            return executor.execute(HealthCheckSelector.names(name));
        } finally {
            ctx.ungetService(ref);
        }
    }

    /** The check's status and lines, "CRITICAL line | line". */
    private String check(String name) {
        List<HealthCheckExecutionResult> results = execute(name);
        if (results.size() != 1) {
            return results.size() + " results";
        }
        Result r = results.get(0).getHealthCheckResult();
        StringBuilder sb = new StringBuilder(r.getStatus().toString());
        String sep = " ";
        for (ResultLog.Entry e : r) {
            sb.append(sep).append(e.getMessage());
            sep = " | ";
        }
        return sb.toString();
    }

    private String awaitCheck(String name, String prefix) {
        await(name + " answering " + prefix, () -> check(name).startsWith(prefix));
        return check(name);
    }

    private boolean ready() throws Exception {
        boolean before = registered();
        boolean kit = platform.isReady();
        boolean after = registered();
        // the monitor may change the condition between two looks; compare only a steady one
        if (before == after) {
            assertEquals("the kit sees the condition as it is", before, kit);
        }
        return after;
    }

    private boolean registered() throws Exception {
        return !ctx.getServiceReferences(Condition.class, READINESS).isEmpty();
    }

    private void awaitReady(boolean ready) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(
                IoasidPlatform.TIMEOUT_MS);
        while (ready() != ready) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for the platform "
                        + (ready ? "" : "not ") + "ready: " + conditions() + "; "
                        + check(INSTANCES));
            }
            Thread.sleep(20);
        }
    }

    /** The readiness conditions registered, with their properties and bundles. */
    private String conditions() throws Exception {
        ServiceReference<?>[] refs = ctx.getAllServiceReferences(null, READINESS);
        List<String> out = new ArrayList<>();
        for (ServiceReference<?> r : refs == null ? new ServiceReference<?>[0] : refs) {
            StringBuilder sb = new StringBuilder(r.getBundle().getSymbolicName());
            for (String k : r.getPropertyKeys()) {
                sb.append(' ').append(k).append('=').append(java.util.Arrays.deepToString(
                        new Object[] {r.getProperty(k)}));
            }
            out.add(sb.toString());
        }
        return out.toString();
    }

    @Test
    public void readyWithEveryCheckOkAndHcExecInGogo() throws Exception {
        platform.awaitReady();
        assertEquals("OK 2 IOMMU instances up: smmu0, dmar0",
                awaitCheck(INSTANCES, "OK").replace("dmar0, smmu0", "smmu0, dmar0"));
        CommandProcessor gogo = ctx.getService(ctx.getServiceReference(CommandProcessor.class));
        Shell.Result r = Shell.script(gogo, "hc:exec ioasid\n");
        assertTrue(r.toString(), r.out().contains("Overall Health Result: OK"));
        for (String name : List.of(INSTANCES, "IOASID allocators", LISTENERS, CAPACITY, FAULTS)) {
            assertTrue(name + " in " + r, r.out().contains(name));
        }
    }

    @Test
    public void aFailedInstanceIsCriticalAndTheConditionLeavesUntilItIsFixed()
            throws Exception {
        awaitReady(true);
        org.osgi.service.cm.Configuration bad = platform.configure(
                Configs.vtd("dmar9", "0000:09:00.0;pasid=20").set("pss", 99));
        platform.awaitFailed("dmar9");
        assertEquals("CRITICAL dmar9 (vtd) is FAILED: pss=99 is not in [0, 19]; fix "
                + "configuration ioasid.backend.vtd~dmar9", awaitCheck(INSTANCES, "CRITICAL"));
        awaitReady(false);
        bad.delete();
        awaitCheck(INSTANCES, "OK");
        awaitReady(true);
    }

    @Test
    public void aStoppedBackendIsCriticalAndNotReadyUntilItStarts() throws Exception {
        awaitReady(true);
        Bundle vtd = platform.bundle("backend.vtd");
        vtd.stop();
        platform.awaitGone("dmar0");
        assertEquals("CRITICAL dmar0 (configuration ioasid.backend.vtd~dmar0) is configured but "
                + "not running: its backend bundle backend.vtd (bundle " + vtd.getBundleId()
                + ") is RESOLVED; start it", awaitCheck(INSTANCES, "CRITICAL"));
        awaitReady(false);
        vtd.start();
        platform.awaitBackends("dmar0");
        awaitCheck(INSTANCES, "OK");
        awaitReady(true);
    }

    @Test
    public void withoutTheChecksThereIsNoReadinessCondition() throws Exception {
        awaitReady(true);
        Bundle health = platform.bundle("ioasid.health");
        health.stop();
        // a monitor left behind would select no check, and no check passes
        awaitReady(false);
        Thread.sleep(1500);
        assertEquals(false, ready());
        health.start();
        awaitReady(true);
    }

    @Test
    public void aStalledListenerIsCriticalWithoutTouchingReadiness() throws Exception {
        awaitReady(true);
        Hashtable<String, Object> core = new Hashtable<>();
        core.put("listener.stall.timeout.ms", 150L);
        ca.getConfiguration("ioasid.core", "?").update(core);
        // the core applies the timeout asynchronously: stall fresh listeners until one is marked
        CountDownLatch release = new CountDownLatch(1);
        List<ServiceRegistration<IoasidListener>> stallers = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        String stalled = null;
        for (int i = 0; stalled == null && System.nanoTime() < deadline; i++) {
            String token = "staller-" + i;
            Hashtable<String, Object> p = new Hashtable<>();
            p.put(IoasidListener.SCOPE, IoasidListener.SCOPE_SET);
            p.put(IoasidListener.SET_TOKEN, token);
            p.put(IoasidListener.NAME, token);
            stallers.add(ctx.registerService(IoasidListener.class, e -> {
                try {
                    release.await(450, TimeUnit.MILLISECONDS);
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                }
            }, p));
            IoasidSet set = ioasid.createSet(TokenType.NONE, token, 1);
            ioasid.free(ioasid.alloc(set, 1, 10, null));
            for (ListenerDTO l : ioasid.listeners()) {
                if (token.equals(l.name) && ListenerDTO.STALLED.equals(l.state)) {
                    stalled = token;
                }
            }
        }
        assertTrue("no listener was marked STALLED", stalled != null);
        String line = awaitCheck(LISTENERS, "CRITICAL");
        assertTrue(line, line.contains("listener " + stalled + " (service "));
        assertTrue(line, line.contains("set) stalled and gets no events since: it did not "
                + "return in time; restart or fix its bundle"));
        assertTrue("readiness is about the IOMMU instances", ready());
        release.countDown();
        for (ServiceRegistration<IoasidListener> r : stallers) {
            r.unregister();
        }
        awaitCheck(LISTENERS, "OK");
    }

    /** An allocator of the IDs from 100 up that throws while told to. */
    static final class Allocator implements IoasidAllocator {
        final AtomicBoolean fail = new AtomicBoolean();
        final AtomicInteger next = new AtomicInteger(100);

        @Override
        public int alloc(int min, int max) {
            if (fail.get()) {
                throw new IllegalStateException("injected allocator fault");
            }
            return Math.max(min, next.getAndIncrement());
        }

        @Override
        public void free(int id) {
        }

        @Override
        public Object helpers() {
            return "vm-helpers";
        }
    }

    @Test
    public void aWaitingAllocatorWarnsAndAFaultIsCriticalForTheWindow() throws Exception {
        Hashtable<String, Object> settings = new Hashtable<>();
        settings.put("fault.window.s", 1);
        settings.put("waiting.max.s", 1);
        ca.getConfiguration("ioasid.health.allocators", "?").update(settings);
        IoasidSet set = ioasid.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle held = ioasid.alloc(set, 1, 1000, null);
        Allocator allocator = new Allocator();
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(IoasidAllocator.NAME, "vm-allocator");
        p.put(org.osgi.framework.Constants.SERVICE_RANKING, 10);
        ServiceRegistration<IoasidAllocator> reg = ctx.registerService(IoasidAllocator.class,
                allocator, p);
        String warn = awaitCheck(ALLOCATORS, "WARN");
        assertTrue(warn, warn.startsWith("WARN allocator vm-allocator (service "));
        assertTrue(warn, warn.contains(" to take over: "));
        ioasid.free(held);
        assertEquals("OK 1 custom allocator, no fault, none waiting longer than 1 s",
                awaitCheck(ALLOCATORS, "OK"));

        allocator.fail.set(true);
        try {
            ioasid.alloc(set, 1, 1000, null);
        } catch (RuntimeException expected) {
            // the core reports the fault its way; the check is what is tested here
        }
        String critical = awaitCheck(ALLOCATORS, "CRITICAL");
        assertTrue(critical, critical.startsWith("CRITICAL 1 allocator fault in the last 1 s"));
        assertTrue("readiness is about the IOMMU instances", ready());
        awaitCheck(ALLOCATORS, "OK");
        reg.unregister();
    }

    @Test
    public void aFaultingBackendWarnsThenIsCriticalThenRecoversWhenTheWindowPasses()
            throws Exception {
        Hashtable<String, Object> settings = new Hashtable<>();
        settings.put("window.s", 3);
        settings.put("warn.faults", 1);
        settings.put("critical.faults", 3);
        ca.getConfiguration("ioasid.health.faults", "?").update(settings);
        awaitCheck(FAULTS, "OK 2 IOMMU backends, no fault in the last 3 s");
        IommuService iommu = ctx.getService(ctx.getServiceReference(IommuService.class));
        // nothing is mapped in the default domain: the SMMU faults the DMA (F_TRANSLATION)
        assertEquals(Translation.Outcome.FAULT,
                iommu.translate("0000:00:01.0", 0, 0x1000, Access.READ).outcome());
        String warn = awaitCheck(FAULTS, "WARN");
        assertTrue(warn, warn.startsWith("WARN IOMMU smmu0: 1 fault in the last 3 s "
                + "(translation 1; 1 in all)"));
        iommu.translate("0000:00:01.0", 0, 0x2000, Access.READ);
        iommu.translate("0000:00:01.0", 0, 0x3000, Access.WRITE);
        String critical = awaitCheck(FAULTS, "CRITICAL");
        assertTrue(critical, critical.startsWith("CRITICAL IOMMU smmu0: 3 faults in the last 3 s"));
        assertTrue("faults are about liveness, not readiness", ready());
        assertEquals("OK 2 IOMMU backends, no fault in the last 3 s", awaitCheck(FAULTS, "OK"));
    }

    @Test
    public void aNearlyFullSpaceWarnsAndABadSettingIsNamed() throws Exception {
        platform.configure(Configs.host().idBits(4));
        IoasidService host = platform.hostSpace();
        IoasidSet set = host.createSet(TokenType.NONE, "vm", 14);
        List<IoasidHandle> ids = new ArrayList<>();
        for (int i = 0; i < 13; i++) {
            ids.add(host.alloc(set, 1, 15, null));
        }
        assertEquals("13 of 15 IDs live leave 13%", "OK", check(CAPACITY).split(" ")[0]);
        ids.add(host.alloc(set, 1, 15, null));
        assertEquals("WARN host space host, ID space default: 1 of 15 IDs free (6%, under 10%); "
                + "free IDs or sets (ioasid:sets), or give it more ID bits",
                awaitCheck(CAPACITY, "WARN"));
        assertTrue("a warning leaves the platform ready", ready());
        host.free(ids.remove(0));
        awaitCheck(CAPACITY, "OK");

        Hashtable<String, Object> p = new Hashtable<>();
        p.put("free.min.percent", 200);
        ca.getConfiguration("ioasid.health.capacity", "?").update(p);
        assertEquals("WARN configuration ioasid.health.capacity: free.min.percent=200 is not in "
                + "[0, 100]; the defaults are used", awaitCheck(CAPACITY, "WARN"));
    }
}
