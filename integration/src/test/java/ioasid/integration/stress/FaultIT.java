package ioasid.integration.stress;

import static ioasid.testkit.osgi.IoasidPlatform.await;
import static ioasid.testkit.osgi.IoasidPlatform.hasBackend;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

import javax.inject.Inject;

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
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.api.dto.IoasidDTO;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.dto.StatsDTO;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuGroup;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.dto.DomainDTO;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.spi.IoasidAllocator;
import ioasid.api.spi.IoasidListener;
import ioasid.testkit.Expect;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * The Fault group: allocators that throw, return IDs out of range or already in use, or block;
 * listeners that throw or stall; a backend whose attach fails halfway or whose map fails
 * halfway; an allocator bundle stopped in the middle of an allocation and a listener bundle
 * stopped in the middle of a notification. Each fault must be contained (nothing else stops or
 * changes), reported (the errno to the caller, the counters of {@code stats()}, the allocator and
 * listener DTOs) and leave the state equal to a model of what should exist afterwards.
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class FaultIT {
    /** How long a contained fault may hold up a caller that is not its own. */
    static final long PROMPT_MS = 2_000;

    @Inject
    BundleContext ctx;

    @Inject
    ConfigurationAdmin ca;

    @Inject
    @Filter(IoasidPlatform.OWN_SPACE)
    IoasidService ioasid;

    @Inject
    IommuService iommu;

    /** Ranked above everything: checks every event's life cycle. */
    private LifeCycleChecker first;

    @Configuration
    public Option[] config() {
        return new Option[] {IoasidOptions.platform(), IoasidOptions.backends()};
    }

    @Before
    public void checker() {
        first = new LifeCycleChecker("first", true);
        StressFixture.registerListener(ctx, first, "fault-first", 1000);
    }

    private ServiceRegistration<IoasidAllocator> register(IoasidAllocator a, String name,
            int ranking) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(Constants.SERVICE_RANKING, ranking);
        p.put(IoasidAllocator.NAME, name);
        return ctx.registerService(IoasidAllocator.class, a, p);
    }

    private IdSpaceDTO space(String name) {
        return StressFixture.space(ioasid, name);
    }

    /** The live IDs of a set, as numbers. */
    private Set<Integer> ids(IoasidSet s) {
        Set<Integer> out = new TreeSet<>();
        for (IoasidDTO d : ioasid.ids(s, Integer.MAX_VALUE)) {
            out.add(d.id);
        }
        return out;
    }

    private void assertEventsClean() {
        assertTrue("event streams: " + first.violations(), first.violations().isEmpty());
    }

    // ------------------------------------------------------------------ allocators

    /**
     * An allocator that throws on every third call, then on every free, then from helpers(): each
     * failing allocation is EIO to its caller and one allocator fault in the stats, nothing is
     * recorded for it, no event goes out, and the allocator stays active; a failing free still
     * frees the ID in the core (counted); an allocator whose helpers() throws, or the same object
     * registered twice, is rejected and leaves the active one alone (D6).
     */
    @Test
    public void faultAllocatorThatThrowsIsContained() {
        FaultyAllocator a = new FaultyAllocator("throwing-helpers");
        register(a, "throwing", 10);
        await("the allocator active", () -> space("throwing-helpers") != null
                && space("throwing-helpers").active);
        IoasidSet s = ioasid.createSet(TokenType.NONE, "tenant", 100);
        long faults0 = ioasid.stats().allocatorFaults;
        List<IoasidHandle> got = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            a.mode = i % 3 == 2 ? FaultyAllocator.Mode.THROW : FaultyAllocator.Mode.NORMAL;
            if (a.mode == FaultyAllocator.Mode.THROW) {
                IoasidException e = Expect.errno(Errno.EIO, () -> ioasid.alloc(s, 1, 1000, null));
                assertTrue("the cause is reported: " + e, e.getCause() != null
                        && e.getCause().getMessage().contains("injected"));
            } else {
                got.add(ioasid.alloc(s, 1, 1000, null));
            }
        }
        a.mode = FaultyAllocator.Mode.NORMAL;
        StatsDTO st = ioasid.stats();
        assertEquals("one fault per failed call", faults0 + 10, st.allocatorFaults);
        assertEquals(20, s.size());
        Set<Integer> want = new TreeSet<>();
        got.forEach(h -> want.add(h.id()));
        assertEquals("exactly the successful IDs are live", want, ids(s));
        assertEquals("one ALLOC per success, none for a failure", 20, first.allocs);
        assertEquals("the allocator holds what the core holds", 20, a.outstanding());
        assertEquals(AllocatorDTO.ACTIVE, StressFixture.allocator(ioasid, "throwing").state);
        assertEquals(20, space("throwing-helpers").live);
        assertEquals(0, space("throwing-helpers").inFlight);

        // a free that throws: the core frees anyway, the fault is counted
        a.throwOnFree = true;
        for (int i = 0; i < 5; i++) {
            IoasidHandle h = got.remove(0);
            ioasid.free(h);
            assertEquals(IoasidState.FREE, h.state());
            want.remove(h.id());
        }
        a.throwOnFree = false;
        assertEquals(faults0 + 15, ioasid.stats().allocatorFaults);
        assertEquals(want, ids(s));
        assertEquals("5 FREE events", 5, first.frees);
        assertEquals("the allocator was asked to free each once", 5, a.freed().size());

        // helpers() throws: rejected with EINVAL; the same object twice: rejected with EEXIST
        FaultyAllocator bad = new FaultyAllocator("bad");
        bad.helpersThrow = true;
        register(bad, "bad-helpers", 20);
        register(a, "twice", 30);
        await("both rejected", () -> ioasid.allocators().length == 3);
        AllocatorDTO r1 = StressFixture.allocator(ioasid, "bad-helpers");
        AllocatorDTO r2 = StressFixture.allocator(ioasid, "twice");
        assertEquals(AllocatorDTO.REJECTED, r1.state);
        assertEquals("EINVAL", r1.errno);
        assertTrue(r1.reason, r1.reason.contains("helpers() threw"));
        assertEquals(AllocatorDTO.REJECTED, r2.state);
        assertEquals("EEXIST", r2.errno);
        assertEquals("the active one is untouched", AllocatorDTO.ACTIVE,
                StressFixture.allocator(ioasid, "throwing").state);
        assertEquals(want, ids(s));
        IoasidHandle more = ioasid.alloc(s, 1, 1000, null);
        assertEquals("the next allocation works; the 5 IDs whose free failed stay with the "
                + "allocator, which said it could not take them back", 21, more.id());
        assertEquals(1, a.count(more.id()));

        // the model afterwards: free everything, nothing left anywhere
        ioasid.freeAllInSet(s);
        assertEquals(0, s.size());
        assertEquals("the allocator got every ID back but the 5 whose free threw", 5,
                a.outstanding());
        assertEquals(0, a.badFrees());
        assertEquals(0, ioasid.stats().live);
        assertEquals(first.allocs, first.frees);
        assertEventsClean();
    }

    /**
     * An allocator that returns an ID outside the requested range, a negative one, or one that is
     * still in use: the caller gets EIO, EIO and EBUSY; an ID it can take back is freed back to it
     * exactly once (rule 19); the live ID it duplicated keeps its handle, state and references;
     * nothing is recorded or announced for the refused ones.
     */
    @Test
    public void faultAllocatorReturnsIdsOutOfRangeOrInUse() {
        FaultyAllocator a = new FaultyAllocator("range-helpers");
        register(a, "range", 10);
        await("the allocator active", () -> space("range-helpers") != null
                && space("range-helpers").active);
        IoasidSet s = ioasid.createSet(TokenType.NONE, "tenant", 100);
        IoasidHandle live = ioasid.alloc(s, 1, 100, "payload");
        ioasid.get(live);
        long faults0 = ioasid.stats().allocatorFaults;

        a.mode = FaultyAllocator.Mode.OUT_OF_RANGE;
        Expect.errno(Errno.EIO, () -> ioasid.alloc(s, 1, 100, null));
        assertEquals("the out-of-range ID went back to the allocator", List.of(105), a.freed());
        assertEquals(0, a.count(105));
        Expect.errno(Errno.ENOENT, () -> ioasid.find(null, 105));

        a.mode = FaultyAllocator.Mode.NEGATIVE;
        Expect.errno(Errno.EIO, () -> ioasid.alloc(s, 1, 100, null));
        assertEquals("nothing to give back for a negative ID", List.of(105), a.freed());
        assertEquals("both counted as allocator faults", faults0 + 2,
                ioasid.stats().allocatorFaults);

        a.mode = FaultyAllocator.Mode.DUPLICATE;
        a.duplicate = live.id();
        Expect.errno(Errno.EBUSY, () -> ioasid.alloc(s, 1, 100, null));
        assertEquals("the duplicate was freed back once (rule 19)", List.of(105, live.id()),
                a.freed());
        assertEquals("the allocator's own count is balanced", 1, a.count(live.id()));
        assertEquals("an ID in use is an unusable ID too (stats().allocatorFaults)", faults0 + 3,
                ioasid.stats().allocatorFaults);
        assertEquals("the live ID is untouched", IoasidState.ACTIVE, live.state());
        assertEquals(2, live.refCount());
        assertEquals("payload", live.privateData());
        assertTrue(ioasid.find(s, live.id()) == live);

        a.mode = FaultyAllocator.Mode.NORMAL;
        assertEquals(Set.of(live.id()), ids(s));
        assertEquals(1, s.size());
        assertEquals("no ALLOC for a refused ID", 1, first.allocs);
        assertEquals(AllocatorDTO.ACTIVE, StressFixture.allocator(ioasid, "range").state);
        assertEquals(1, space("range-helpers").live);
        assertEquals(0, space("range-helpers").inFlight);
        IoasidHandle next = ioasid.alloc(s, 1, 100, null);
        assertEquals(2, next.id());

        ioasid.free(live);
        ioasid.put(live);
        ioasid.free(next);
        assertEquals(0, ioasid.stats().live);
        assertEquals("the allocator got back all it handed out", 0, a.outstanding());
        assertEquals(0, a.badFrees());
        assertEventsClean();
    }

    /**
     * An allocator bundle whose allocation blocks (the host does not answer), stopped from
     * another thread while the call is in flight: the blocked allocation holds up only its own
     * callers (a second allocation queues behind it; lookups, references, SPIDs, snapshots and
     * DMA probes go on); the stop returns at once and revokes the live IDs (D7); once the host
     * answers, both callers get EAGAIN and nothing leaks: the IDs the host handed out are owed
     * to the allocator's helpers and go back when the bundle starts again.
     */
    @Test
    public void faultAllocatorBundleStoppedMidAllocation() throws Exception {
        HostSpace host = new HostSpace();
        Bundle bundle = StressFixture.startAllocator(ctx, ioasid, "mid", host,
                true);
        Configs.smmu("smmu0", "0000:00:01.0;sid=0x8").create(ca);
        await("smmu0", () -> hasBackend(iommu, "smmu0"));
        IommuDomain dom = iommu.domainAlloc("0000:00:01.0", false);
        iommu.attachGroup(dom, iommu.group("0000:00:01.0"));
        iommu.map(dom, 0x1000, 0x9000, 0x1000, Prot.READ);
        IoasidSet s = ioasid.createSet(TokenType.NONE, "tenant", 100);
        IoasidHandle held = ioasid.alloc(s, 1, 1000, null);
        ioasid.get(held);

        host.entered = new CountDownLatch(1);
        host.gate = new CountDownLatch(1);
        StressFixture.Crew callers = new StressFixture.Crew();
        AtomicReference<Errno> inFlightCaller = new AtomicReference<>();
        AtomicReference<Errno> queuedCaller = new AtomicReference<>();
        callers.start("blocked-alloc", () -> {
            try {
                ioasid.alloc(s, 1, 1000, null);
            } catch (IoasidException e) {
                inFlightCaller.set(e.errno());
            }
        });
        assertTrue("the allocation reached the host", host.entered.await(10, TimeUnit.SECONDS));
        callers.start("queued-alloc", () -> {
            try {
                ioasid.alloc(s, 1, 1000, null);
            } catch (IoasidException e) {
                queuedCaller.set(e.errno());
            }
        });
        await("both in flight", () -> space(StressFixture.HELPERS).inFlight == 2);

        // only its own callers wait: everything else answers promptly
        long t0 = System.nanoTime();
        assertTrue(ioasid.find(s, held.id()) == held);
        ioasid.get(held);
        ioasid.put(held);
        ioasid.attachSpid(held, 42);
        assertTrue(ioasid.findBySpid(s, 42, false) == held);
        ioasid.detachSpid(held);
        IoasidSet other = ioasid.createSet(TokenType.NONE, "other", 10);
        ioasid.freeSet(other);
        ioasid.stats();
        ioasid.ids(null, 100);
        assertEquals(0x9123, iommu.translate("0000:00:01.0", 0, 0x1123, Access.READ).physAddr());
        assertTrue("nothing but its callers waited for the blocked allocator",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < PROMPT_MS);
        assertNull("the first caller still waits", inFlightCaller.get());
        assertNull("the second caller queues behind it", queuedCaller.get());

        // the bundle stops while the call is in the allocator
        t0 = System.nanoTime();
        bundle.stop();
        assertTrue("the stop does not wait for the allocation",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < PROMPT_MS);
        assertEquals(0, ioasid.allocators().length);
        assertNull(space(StressFixture.HELPERS));
        assertTrue("the default space took over", ioasid.idSpaces()[0].active);
        assertEquals("the live ID was revoked (D7)", 1, ioasid.stats().revoked);
        assertEquals(IoasidState.FREE_PENDING, held.state());
        assertTrue(held.revoked());

        host.gate.countDown();
        callers.join(10_000);
        assertEquals("the caller of the allocation in flight", Errno.EAGAIN, inFlightCaller.get());
        assertEquals("the queued caller", Errno.EAGAIN, queuedCaller.get());
        host.gate = null;

        // nothing leaked: the core holds only the revoked ID while referenced
        assertEquals(Set.of(held.id()), ids(s));
        assertEquals(1, s.size());
        assertEquals(1, first.allocs);
        assertEquals("the revocation sent one FREE", 1, first.frees);
        ioasid.put(held);
        assertEquals(IoasidState.FREE, held.state());
        assertEquals(0, ioasid.stats().live);
        assertEquals("the host still holds what the departed allocator handed out", 2,
                host.outstanding());
        // the default allocator serves meanwhile
        IoasidHandle meanwhile = ioasid.alloc(s, 1, 1000, null);
        ioasid.free(meanwhile);

        bundle.start();
        await("the allocator back", () -> ioasid.allocators().length == 1);
        await("what was owed went back to the host", () -> host.outstanding() == 0);
        assertEquals("and nothing twice", 0, host.badFrees());
        assertEquals(0, ioasid.stats().live);
        assertEquals(first.allocs, first.frees);
        assertEventsClean();
    }

    /** The helpers of the allocator a bundle registered, asked through its service. */
    private Object helpersOf(Bundle b) {
        ServiceReference<?>[] refs = b.getRegisteredServices();
        for (ServiceReference<?> r : refs == null ? new ServiceReference<?>[0] : refs) {
            if (Arrays.asList((String[]) r.getProperty(Constants.OBJECTCLASS))
                    .contains(IoasidAllocator.class.getName())) {
                IoasidAllocator a = (IoasidAllocator) ctx.getService(r);
                try {
                    return a.helpers();
                } finally {
                    ctx.ungetService(r);
                }
            }
        }
        throw new AssertionError(b.getSymbolicName() + " registered no allocator");
    }

    /**
     * Asks for garbage collections until the probe is cleared, for at most 10 s ({@code
     * System.gc()} is only a request); whether it was.
     */
    private static boolean collect(WeakReference<?> probe) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (probe.get() != null && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        return probe.get() == null;
    }

    /**
     * The core's warnings: its {@code System.Logger} "ioasid.core" goes to java.util.logging in
     * the framework, where the test configuration turns every level off. While open, the core's
     * WARNINGs come here, and only here, to keep the build log as quiet as before.
     */
    private static final class CoreLog extends Handler implements AutoCloseable {
        // held strongly: java.util.logging keeps loggers weakly, and with them their level
        private final Logger logger = Logger.getLogger("ioasid.core");
        private final Level level = logger.getLevel();
        private final boolean parents = logger.getUseParentHandlers();
        private final List<String> messages = Collections.synchronizedList(new ArrayList<>());

        CoreLog() {
            logger.setLevel(Level.WARNING);
            logger.setUseParentHandlers(false);
            logger.addHandler(this);
        }

        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                messages.add(new SimpleFormatter().formatMessage(r));
            }
        }

        /** The warnings logged so far that contain {@code part}. */
        List<String> warnings(String part) {
            synchronized (messages) {
                return messages.stream().filter(m -> m.contains(part)).toList();
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            logger.removeHandler(this);
            logger.setUseParentHandlers(parents);
            logger.setLevel(level);
        }
    }

    private static final String COLLECTED_WHILE_AWAY = "helpers collected while away";

    /**
     * IDs owed to departed helpers (D7: revoked when the allocator bundle stopped, reclaimed
     * afterwards) whose helpers object stays reachable (here the test holds it, as a space that
     * outlives its allocator would) survive garbage collections while the allocator is away,
     * and go back to the host when the bundle starts again with helpers that are equal but not
     * the same object (API rule 17). Both ways of being reclaimed are owed: at the revocation
     * (no reference left) and at the last put afterwards. Nothing is dropped, so nothing is
     * logged.
     */
    @Test
    public void faultOwedIdsSurviveAGarbageCollectionWhileTheAllocatorIsAway() throws Exception {
        HostSpace host = new HostSpace();
        Bundle bundle = StressFixture.startAllocator(ctx, ioasid, "gc", host,
                false);
        Object departed = helpersOf(bundle);
        IoasidSet s = ioasid.createSet(TokenType.NONE, "tenant", 100);
        IoasidHandle held = ioasid.alloc(s, 1, 1000, null);
        IoasidHandle unheld = ioasid.alloc(s, 1, 1000, null);
        ioasid.get(held);
        try (CoreLog log = new CoreLog()) {
            bundle.stop(); // both revoked; the unreferenced one reclaimed at once
            assertEquals(2, ioasid.stats().revoked);
            assertEquals(IoasidState.FREE, unheld.state());
            ioasid.put(held); // reclaimed: owed to the departed helpers
            assertEquals(IoasidState.FREE, held.state());
            assertEquals("the host still holds both", 2, host.outstanding());
            assertTrue("a garbage collection ran while the allocator was away",
                    collect(new WeakReference<>(new Object())));

            bundle.start();
            StressFixture.awaitActive(ioasid);
            Object back = helpersOf(bundle);
            assertTrue("equal helpers, another object", back.equals(departed) && back != departed);
            await("the owed IDs went back to the host", () -> host.outstanding() == 0);
            assertEquals("and nothing twice", 0, host.badFrees());
            assertEquals("the host hands the lowest number out again", 1,
                    ioasid.alloc(s, 1, 1000, null).id());
            assertTrue("from the host", host.holds(1) && host.outstanding() == 1);
            assertEquals("nothing dropped, nothing logged", List.of(),
                    log.warnings(COLLECTED_WHILE_AWAY));
        }
        // the departed helpers stayed reachable until the allocator was back
        Reference.reachabilityFence(departed);
        ioasid.freeAllInSet(s);
        assertEquals(0, host.outstanding());
        assertEquals(0, ioasid.stats().live);
        assertEventsClean();
    }

    /**
     * The counterpart: when nothing keeps the departed helpers object reachable and it is
     * collected while the allocator is away, the space it stood for is taken to be gone (the core
     * holds it weakly so that a stopped bundle's classes can unload). The IDs owed to it are not
     * given back to the equal helpers that return; the core says so in one WARNING, when the next
     * allocator joins, with the count and the helpers' class. The allocator that returns works on.
     */
    @Test
    public void faultOwedIdsOfCollectedHelpersAreDroppedWithAWarning() throws Exception {
        HostSpace host = new HostSpace();
        Bundle bundle = StressFixture.startAllocator(ctx, ioasid, "gc", host,
                false);
        ReferenceQueue<Object> cleared = new ReferenceQueue<>();
        WeakReference<Object> departed = new WeakReference<>(helpersOf(bundle), cleared);
        IoasidSet s = ioasid.createSet(TokenType.NONE, "tenant", 100);
        IoasidHandle held = ioasid.alloc(s, 1, 1000, null);
        ioasid.alloc(s, 1, 1000, null);
        ioasid.get(held);
        try (CoreLog log = new CoreLog()) {
            bundle.stop();
            ioasid.put(held); // both reclaimed now: owed to the departed helpers
            assertEquals(0, ioasid.stats().live);
            assertEquals(2, host.outstanding());
            assertTrue("the departed helpers were collected (something still holds them)",
                    collect(departed));
            // the core learns of it through its own reference queue, which the same collection
            // fills: wait until ours is filled too
            assertTrue("the cleared probe was enqueued", cleared.remove(10_000) == departed);
            assertEquals("nothing logged before the next allocator joins", List.of(),
                    log.warnings(COLLECTED_WHILE_AWAY));

            bundle.start();
            StressFixture.awaitActive(ioasid);
            await("the warning", () -> !log.warnings(COLLECTED_WHILE_AWAY).isEmpty());
            assertEquals(List.of("IOASID allocator helpers collected while away: 2 IDs owed to "
                    + "departed helpers of class java.lang.String are given back to no one"),
                    log.warnings(COLLECTED_WHILE_AWAY));
            assertEquals("the host was given nothing back", 2, host.outstanding());
            assertEquals(0, host.badFrees());
            IoasidHandle next = ioasid.alloc(s, 1, 1000, null);
            assertEquals("the returned allocator works, past the dropped numbers", 3, next.id());
            ioasid.free(next);
            assertEquals(2, host.outstanding());
            assertEquals("warned once", 1, log.warnings(COLLECTED_WHILE_AWAY).size());
        }
        assertEquals(0, ioasid.stats().live);
        assertEventsClean();
    }

    // ------------------------------------------------------------------ listeners

    /** Applies a stall timeout and waits until a canary listener shows it is in force. */
    private void stallTimeout(long ms) throws Exception {
        org.osgi.service.cm.Configuration c = ca.getConfiguration("ioasid.core", "?");
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("listener.stall.timeout.ms", ms);
        c.update(p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        for (int i = 0; System.nanoTime() < deadline; i++) {
            String token = "canary-" + i;
            CountDownLatch free = new CountDownLatch(1);
            Hashtable<String, Object> lp = new Hashtable<>();
            lp.put(IoasidListener.SCOPE, IoasidListener.SCOPE_SET);
            lp.put(IoasidListener.SET_TOKEN, token);
            lp.put(IoasidListener.NAME, token);
            ServiceRegistration<IoasidListener> reg = ctx.registerService(IoasidListener.class,
                    e -> {
                        try {
                            free.await(ms * 3, TimeUnit.MILLISECONDS);
                        } catch (InterruptedException x) {
                            Thread.currentThread().interrupt();
                        }
                    }, lp);
            IoasidSet cs = ioasid.createSet(TokenType.NONE, token, 1);
            ioasid.free(ioasid.alloc(cs, 1, 10, null));
            boolean stalled = ListenerDTO.STALLED.equals(StressFixture.listener(ioasid, token)
                    .state);
            free.countDown();
            reg.unregister();
            ioasid.freeSet(cs);
            if (stalled) {
                return;
            }
        }
        fail("the stall timeout of " + ms + " ms never applied");
    }

    /**
     * A listener that throws on every event and one that stalls on its third (with the stall
     * timeout set low through the ioasid.core configuration): the thread whose event stalled waits
     * for the staller, but every other thread's operations complete promptly; the thrower's
     * failures are counted in the stats and its DTO with the last failure; the staller is marked
     * STALLED, counted once and never called again; listeners on both sides of them get every
     * event, in order.
     */
    @Test
    public void faultListenersThatThrowOrStallAreContained() throws Exception {
        stallTimeout(150);
        StatsDTO before = ioasid.stats();
        long allocs0 = first.allocs;
        AtomicInteger calls = new AtomicInteger();
        AtomicInteger thrown = new AtomicInteger();
        StressFixture.registerListener(ctx, e -> {
            if (calls.incrementAndGet() % 4 == 1) {
                thrown.incrementAndGet();
                // without a stack trace: the core logs each failure, keep the build log short
                throw new RuntimeException("injected listener fault on " + e.type(), null,
                        false, false) {
                    private static final long serialVersionUID = 1L;
                };
            }
        }, "thrower", 250);
        AtomicInteger stallerCalls = new AtomicInteger();
        CountDownLatch unstall = new CountDownLatch(1);
        StressFixture.registerListener(ctx, e -> {
            if (stallerCalls.incrementAndGet() == 3) {
                try {
                    unstall.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                }
            }
        }, "staller", 150);
        LifeCycleChecker after = new LifeCycleChecker("after", false);
        after.above = first;
        StressFixture.registerListener(ctx, after, "after", 50);
        IoasidSet s = ioasid.createSet(TokenType.NONE, "tenant", 100);

        // the first thread's third event (its UNBIND) stalls in the staller
        StressFixture.Crew stuck = new StressFixture.Crew();
        stuck.start("stuck", () -> {
            IoasidHandle h = ioasid.alloc(s, 1, 1000, null);
            ioasid.attachSpid(h, 1000);
            ioasid.detachSpid(h);
            ioasid.free(h);
        });
        await("the staller marked STALLED", () -> ListenerDTO.STALLED.equals(
                StressFixture.listener(ioasid, "staller").state));
        int n = 100;
        StressFixture.Crew load = new StressFixture.Crew();
        long[] slow = {0};
        load.start("load", () -> {
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                IoasidHandle h = ioasid.alloc(s, 1, 1000, null);
                ioasid.attachSpid(h, i);
                ioasid.detachSpid(h);
                ioasid.free(h);
                slow[0] = Math.max(slow[0], System.nanoTime() - t0);
            }
        });
        load.join(30_000);
        long slowest = slow[0];
        assertTrue("the other thread's operations completed promptly, the slowest in "
                + TimeUnit.NANOSECONDS.toMillis(slowest) + " ms",
                TimeUnit.NANOSECONDS.toMillis(slowest) < PROMPT_MS);
        ListenerDTO staller = StressFixture.listener(ioasid, "staller");
        assertEquals("two calls returned before the stall", 2, staller.delivered);
        unstall.countDown();
        stuck.join(30_000);

        int events = 4 * (n + 1);
        StatsDTO st = ioasid.stats();
        ListenerDTO thrower = StressFixture.listener(ioasid, "thrower");
        staller = StressFixture.listener(ioasid, "staller");
        assertEquals("the thrower was called for every event", events, calls.get());
        assertEquals("every throw is in its DTO", thrown.get(), thrower.failures);
        assertEquals("and every other call delivered", events - thrown.get(), thrower.delivered);
        assertEquals(ListenerDTO.ACTIVE, thrower.state);
        assertTrue(thrower.lastFailure, thrower.lastFailure.contains("injected listener fault"));
        assertEquals("each throw is counted", before.listenerFailures + thrown.get(),
                st.listenerFailures);
        assertEquals(ListenerDTO.STALLED, staller.state);
        assertEquals("called three times, never again after the stall", 3, stallerCalls.get());
        assertEquals("one stall counted", before.listenerStalls + 1, st.listenerStalls);
        assertEquals(first.counts(), n + 1, first.allocs - allocs0);
        assertEquals(after.counts(), n + 1, after.allocs);
        assertEquals(after.counts(), n + 1, after.frees);
        assertEquals(after.counts(), n + 1, after.binds);
        assertEquals(after.counts(), n + 1, after.unbinds);
        for (LifeCycleChecker c : List.of(first, after)) {
            assertEquals(c.counts(), c.allocs, c.frees);
            assertEquals(c.counts(), c.binds, c.unbinds);
            assertTrue(c.violations().toString(), c.violations().isEmpty());
        }
        ioasid.free(ioasid.alloc(s, 1, 1000, null));
        assertEquals("a stalled listener stays skipped", 3, stallerCalls.get());
        assertEquals(0, s.size());
        assertEquals(0, ioasid.stats().live);
    }

    /**
     * A listener bundle stopped while its listener is being called (it blocks on its 100th
     * event): the stop returns while the call is in progress and takes the listener out of the
     * chain; once the call returns, the listeners after it get that event and every later one,
     * and the stopped one gets nothing more.
     */
    @Test
    public void faultListenerBundleStoppedMidNotification() throws Exception {
        Journal journal = new Journal();
        journal.above = first;
        StressFixture.registerJournal(ctx, journal);
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger bEvents = new AtomicInteger();
        journal.hook = (key, e) -> {
            if (key.startsWith("b#") && bEvents.incrementAndGet() == 100) {
                entered.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        Bundle a = ctx.installBundle("stress:a", StressFixture.listenerBundle("a", 800));
        Bundle b = ctx.installBundle("stress:b", StressFixture.listenerBundle("b", 150));
        Bundle c = ctx.installBundle("stress:c", StressFixture.listenerBundle("c", 50));
        for (Bundle x : List.of(a, b, c)) {
            x.start();
        }
        IoasidSet s = ioasid.createSet(TokenType.NONE, "tenant", 100);
        int n = 500;
        StressFixture.Crew load = new StressFixture.Crew();
        load.start("load", () -> {
            for (int i = 0; i < n; i++) {
                ioasid.free(ioasid.alloc(s, 1, 1000, null));
            }
        });
        assertTrue("b is being called", entered.await(10, TimeUnit.SECONDS));
        long t0 = System.nanoTime();
        b.stop();
        assertTrue("the stop did not wait for the call in progress",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < PROMPT_MS);
        assertEquals("b is still inside its call", 1, release.getCount());
        assertNull("b left the chain", StressFixture.listener(ioasid, journal.latest("b").name));
        release.countDown();
        load.join(30_000);

        LifeCycleChecker la = journal.latest("a");
        LifeCycleChecker lb = journal.latest("b");
        LifeCycleChecker lc = journal.latest("c");
        for (LifeCycleChecker x : List.of(first, la, lc)) {
            assertEquals(x.counts(), n, x.allocs);
            assertEquals(x.counts(), n, x.frees);
            assertTrue(x.violations().toString(), x.violations().isEmpty());
        }
        assertEquals("b got its first 100 events and nothing after", 100,
                lb.allocs + lb.frees);
        assertTrue(lb.violations().toString(), lb.violations().isEmpty());
        long[] all = first.liveSequences();
        assertTrue("b's events are the first 100 of the stream",
                Arrays.equals(Arrays.copyOf(all, 100), lb.liveSequences()));
        StatsDTO st = ioasid.stats();
        assertEquals("no failure", 0, st.listenerFailures);
        assertEquals("no stall", 0, st.listenerStalls);
        assertEquals(0, s.size());
    }

    // ------------------------------------------------------------------ backends

    private FaultyBackend faultyBackend() {
        FaultyBackend be = new FaultyBackend(List.of(
                DeviceInfo.parse("fa0;sid=1;group=pair;pasid=8", 0),
                DeviceInfo.parse("fa1;sid=2;group=pair;pasid=8", 0),
                DeviceInfo.parse("fb0;sid=3;pasid=8", 0)));
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(IommuBackend.NAME, "faulty0");
        p.put(IommuBackend.VENDOR, "faulty");
        ctx.registerService(IommuBackend.class, be, p);
        await("faulty0", () -> hasBackend(iommu, "faulty0"));
        return be;
    }

    private GroupDTO group(IommuGroup g) {
        return Arrays.stream(iommu.groups()).filter(x -> x.id == g.id()).findFirst()
                .orElseThrow();
    }

    /**
     * A backend whose attach of the second device of a two-device group fails (after a pause,
     * while probes run): the caller gets the errno (EIO for a plain exception, the backend's own
     * errno otherwise), the first device is put back on the old domain, the group stays on it,
     * the new domain is unused and can be freed, and no probe ever shows anything but the old or
     * the new domain (D18, rule 44). Once the fault is gone the same attach works.
     */
    @Test
    public void faultBackendAttachFailsHalfway() throws Exception {
        FaultyBackend be = faultyBackend();
        IommuGroup g = iommu.group("fa0");
        assertEquals(List.of("fa0", "fa1"), g.devices());
        GroupDTO g0 = group(g);
        IommuDomain old = iommu.domain(g0.defaultDomainId);
        FaultyBackend.Dom oldHw = be.current("fa0");
        assertTrue(oldHw == be.current("fa1"));
        iommu.map(old, 0x1000, 0xA000, 0x1000, Prot.READ);
        IommuDomain next = iommu.domainAlloc("fa0", false);
        iommu.map(next, 0x1000, 0xB000, 0x1000, Prot.READ);
        for (String d : List.of("fa0", "fa1")) {
            assertEquals(0xA000, iommu.translate(d, 0, 0x1000, Access.READ).physAddr());
        }

        // probes all along: only the old or the new domain, each with its own page
        StressFixture.Crew probes = new StressFixture.Crew();
        AtomicInteger onNew = new AtomicInteger();
        AtomicInteger total = new AtomicInteger();
        List<String> wrong = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch stop = new CountDownLatch(1);
        probes.start("probe", () -> {
            while (stop.getCount() > 0) {
                for (String d : List.of("fa0", "fa1")) {
                    Translation t = iommu.translate(d, 0, 0x1000, Access.READ);
                    total.incrementAndGet();
                    if (t.translated() && t.domainId() == next.id() && t.physAddr() == 0xB000) {
                        onNew.incrementAndGet();
                    } else if (!(t.translated() && t.domainId() == old.id()
                            && t.physAddr() == 0xA000) && wrong.size() < 10) {
                        wrong.add(d + ": " + t);
                    }
                }
            }
        });

        be.failAttachOf = "fa1";
        be.attachPauseMs = 100;
        be.attachFailure = new IllegalStateException("injected attach fault");
        Expect.errno(Errno.EIO, () -> iommu.attachGroup(next, g));
        assertTrue("the probe saw fa0 on the new domain while fa1's attach hung: " + onNew,
                onNew.get() > 0);
        be.attachFailure = new IoasidException(Errno.ENOMEM, "injected: no context entry");
        Expect.errno(Errno.ENOMEM, () -> iommu.attachGroup(next, g));
        be.attachFailure = null;

        // contained: the group where it was, the backend pointing both devices at the old domain
        GroupDTO g1 = group(g);
        assertEquals("the group stays on its old domain", old.id(), g1.domainId);
        for (String d : List.of("fa0", "fa1")) {
            Translation t = iommu.translate(d, 0, 0x1000, Access.READ);
            assertEquals(d + ": " + t, 0xA000, t.physAddr());
            assertEquals(old.id(), t.domainId());
        }
        DomainDTO nd = Arrays.stream(iommu.domains()).filter(x -> x.id == next.id()).findFirst()
                .orElseThrow();
        assertEquals("the new domain is unused", 0, nd.groups.length);
        assertTrue("the backend points both devices at the old domain again",
                be.current("fa0") == oldHw && be.current("fa1") == oldHw);
        List<String> logged = be.commandLog();
        int faults = 0;
        for (int i = 0; i < logged.size(); i++) {
            if (logged.get(i).endsWith("-> fault")) {
                faults++;
                assertEquals("the undo right after the fault: " + logged, "attach fa0 d"
                        + oldHw.n, logged.get(i + 1));
            }
        }
        assertEquals(2, faults);

        // the fault gone, the same attach works, and detach returns to the default
        iommu.attachGroup(next, g);
        for (String d : List.of("fa0", "fa1")) {
            assertEquals(0xB000, iommu.translate(d, 0, 0x1000, Access.READ).physAddr());
        }
        iommu.detachGroup(next, g);
        stop.countDown();
        probes.join(10_000);
        assertTrue("probes saw only the old or the new domain: " + wrong, wrong.isEmpty());
        assertTrue("probes ran: " + total, total.get() > 10);
        assertEquals(old.id(), group(g).domainId);
        iommu.domainFree(next);
        assertFalse(next.live());
        assertTrue("back on the old domain", be.current("fa0") == oldHw
                && be.current("fa1") == oldHw);
    }

    /**
     * A backend whose map fails for the second chunk (a 2 MiB page after a 4 KiB one): the caller
     * gets the backend's errno, the chunk already mapped is unmapped again and its IOTLB synced,
     * so nothing of the request stays mapped (rule 57); a map over a mapped page fails with
     * EEXIST and leaves the existing mapping alone; with the fault gone the same map works.
     */
    @Test
    public void faultBackendMapFailsHalfway() {
        FaultyBackend be = faultyBackend();
        IommuDomain d = iommu.domainAlloc("fb0", false);
        iommu.attachDevice(d, "fb0");
        long iova = FaultyBackend.SZ_2M - FaultyBackend.SZ_4K;
        long pa = 2 * FaultyBackend.SZ_2M - FaultyBackend.SZ_4K;
        long size = FaultyBackend.SZ_4K + FaultyBackend.SZ_2M;
        be.failMapPgsize = FaultyBackend.SZ_2M;
        be.mapFailure = new IoasidException(Errno.ENOMEM, "injected: no page table memory");
        int logBefore = be.commandLog().size();
        Expect.errno(Errno.ENOMEM, () -> iommu.map(d, iova, pa, size, Prot.READ | Prot.WRITE));
        List<String> log = be.commandLog().subList(logBefore, be.commandLog().size());
        assertEquals("nothing of the request stays mapped: " + log, 0, be.pagesMapped());
        assertTrue("the 4 KiB chunk was mapped, unmapped and synced: " + log,
                log.stream().anyMatch(l -> l.startsWith("unmap"))
                        && log.stream().anyMatch(l -> l.startsWith("sync")));
        assertEquals(0, iommu.iovaToPhys(d, iova));
        assertEquals(Translation.Outcome.FAULT, iommu.translate("fb0", 0, iova, Access.READ)
                .outcome());

        be.mapFailure = null;
        iommu.map(d, iova, pa, size, Prot.READ | Prot.WRITE);
        assertEquals(pa + 0x10, iommu.translate("fb0", 0, iova + 0x10, Access.READ).physAddr());
        assertEquals(pa + FaultyBackend.SZ_4K + 0x20,
                iommu.iovaToPhys(d, iova + FaultyBackend.SZ_4K + 0x20));
        assertEquals(2, be.pagesMapped());
        Expect.errno(Errno.EEXIST, () -> iommu.map(d, iova - FaultyBackend.SZ_4K, 0x1000_0000,
                2 * FaultyBackend.SZ_4K, Prot.READ));
        assertEquals("the failed overlap left the mapping alone", 2, be.pagesMapped());
        assertEquals(0, iommu.iovaToPhys(d, iova - FaultyBackend.SZ_4K));
        assertEquals(size, iommu.unmap(d, iova, size));
        assertEquals(0, be.pagesMapped());
        iommu.detachDevice(d, "fb0");
        iommu.domainFree(d);
    }
}
