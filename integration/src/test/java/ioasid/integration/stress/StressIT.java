package ioasid.integration.stress;

import static ioasid.testkit.osgi.IoasidPlatform.await;
import static ioasid.testkit.osgi.IoasidPlatform.hasBackend;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

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
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.api.dto.StatsDTO;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidListener;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.osgi.PlatformBundles;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * The Stress group: threads run mixed IOASID and IOMMU operations in a real Felix framework
 * while allocator, backend and listener bundles start, stop and update. Afterwards a checker
 * verifies that no ID was handed out twice and none was lost (with everything released: no live
 * ID, every set empty, the whole range allocatable again, every host ID returned), that no event
 * was lost, doubled or out of per-ID or chain order (a life-cycle checker on every listener,
 * ALLOC == FREE), and that the service's snapshot after the threads stopped equals the threads'
 * sequential models (IDs, references, states, SPIDs, mappings, PASID attachments).
 *
 * <p>Budget: {@code -Dioasid.stress.ops} operations for the whole group (default 1,000,000),
 * split over its {@value #TESTS} tests. A long run of 10^7:
 * {@code mvn -o -B verify -pl integration -Dit.test='StressIT' -Dioasid.stress.ops=10000000}.
 * Each test prints {@code STRESS <name>: N ops in T ms = R ops/s}.
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class StressIT {
    static final int TESTS = 5;
    static final String SMMU_DEV = "0000:00:01.0";
    static final String SMMU_DEV2 = "0000:00:02.0";
    static final String VTD_DEV = "0000:01:00.0";
    static final String VTD_DEV2 = "0000:02:00.0";
    static final String VIRTIO_DEV = "ep1";
    /** Longest a run may take before it is declared hung (stacks are printed then). */
    static final long RUN_TIMEOUT_MS = Math.max(180_000, StressFixture.TOTAL_OPS / 20);

    @Inject
    BundleContext ctx;

    @Inject
    ConfigurationAdmin ca;

    @Inject
    @Filter(IoasidPlatform.OWN_SPACE)
    IoasidService ioasid;

    @Inject
    IommuService iommu;

    /** Ranked above everything: sees each event first. */
    private LifeCycleChecker first;
    /** Ranked below every listener bundle and the IOMMU core. */
    private LifeCycleChecker last;
    private Journal journal;
    private final Random rnd = new Random(StressFixture.SEED);

    @Configuration
    public Option[] config() {
        return new Option[] {IoasidOptions.platform(), IoasidOptions.backends()};
    }

    @Before
    public void listeners() {
        first = new LifeCycleChecker("first", true);
        last = new LifeCycleChecker("last", false);
        last.above = first;
        StressFixture.registerListener(ctx, first, "stress-first", 1000);
        StressFixture.registerListener(ctx, last, "stress-last", 10);
        journal = new Journal();
        journal.above = first;
        journal.below = last;
        StressFixture.registerJournal(ctx, journal);
    }

    private void backends() throws Exception {
        Configs.smmu("smmu0", SMMU_DEV + ";sid=0x8;pasid=16", SMMU_DEV2 + ";sid=0x10").create(ca);
        Configs.vtd("dmar0", VTD_DEV + ";pasid=20", VTD_DEV2 + ";pasid=20").nesting(true)
                .create(ca);
        Configs.virtio("viommu0", VIRTIO_DEV + ";sid=0x1").create(ca);
        awaitBackends("smmu0", "dmar0", "viommu0");
    }

    private void awaitBackends(String... names) {
        for (String n : names) {
            await(n, () -> hasBackend(iommu, n));
        }
        await("every group unblocked", () -> Arrays.stream(iommu.groups()).noneMatch(g ->
                g.blocked));
    }

    private IdWorker idWorker(int i, int range, int[] mix, boolean allocatorMayLeave,
            Map<IoasidHandle, Boolean> pool, Map<IoasidHandle, Integer> spidAtFree) {
        // room for its own IDs and for those it freed while the others held references
        IoasidSet s = ioasid.createSet(TokenType.NONE, "worker-" + i, 16 * IdWorker.CAP);
        return new IdWorker("ids-" + i, ioasid, s, range, StressFixture.SEED + i, mix,
                allocatorMayLeave, pool, spidAtFree);
    }

    // ------------------------------------------------------------------ one run

    /** What changes while the workers run: one call is one cycle. */
    interface Churn {
        void cycle(int n) throws Exception;
    }

    /** One stress run and what it measured. */
    final class Run {
        final String name;
        final long budget;
        final List<IdWorker> ids = new ArrayList<>();
        final List<DmaWorker> dma = new ArrayList<>();
        final Map<IoasidHandle, Boolean> pool = IdWorker.newPool();
        final Map<IoasidHandle, Integer> spidAtFree = new ConcurrentHashMap<>();
        int rounds;
        int range = 4096;
        int minCycles = 3;
        Churn churn;
        final AtomicInteger cycles = new AtomicInteger();
        long ops;
        long nanos;
        final int capacityBefore;

        Run(String name) {
            this.name = name;
            this.budget = StressFixture.opsPerTest(TESTS);
            this.capacityBefore = ioasid.capacity().available;
            rounds(4);
        }

        /** Rounds (everyone releases at each end) in proportion to the budget, at least n. */
        void rounds(int n) {
            rounds = (int) Math.max(n, budget / 25_000);
        }

        IdWorker ids(int[] mix, boolean allocatorMayLeave) {
            IdWorker w = idWorker(ids.size(), range, mix, allocatorMayLeave, pool, spidAtFree);
            ids.add(w);
            return w;
        }

        DmaWorker dma(String device, boolean backendMayLeave, boolean usePasid,
                boolean allocatorMayLeave) {
            DmaWorker w = new DmaWorker("dma-" + dma.size(), iommu, device,
                    StressFixture.SEED + 100 + dma.size(), backendMayLeave, usePasid,
                    allocatorMayLeave);
            dma.add(w);
            return w;
        }

        private final StressFixture.Crew churner = new StressFixture.Crew();

        /** Whether to go on past the budget: the churn has not done its minimum yet. */
        private boolean more(long deadline) {
            return cycles.get() < minCycles && System.nanoTime() < deadline
                    && !churner.failed();
        }

        /** Runs the workers and the churn until both did their share, then stops everything. */
        void go() throws Exception {
            int threads = ids.size() + dma.size();
            long perThread = budget / threads;
            AtomicBoolean workersDone = new AtomicBoolean();
            StressFixture.Crew workers = new StressFixture.Crew();
            CyclicBarrier roundEnd = new CyclicBarrier(Math.max(1, ids.size()), spidAtFree::clear);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            long start = System.nanoTime();
            for (IdWorker w : ids) {
                workers.start(w.name, () -> {
                    try {
                        for (int round = 0; round < rounds; round++) {
                            boolean lastRound = round == rounds - 1;
                            for (long i = 0; i < perThread / rounds || (lastRound && more(
                                    deadline)); i++) {
                                w.step();
                                if (workers.failed()) {
                                    return;
                                }
                            }
                            if (!lastRound) {
                                // everyone lets go, so the space empties and a waiting
                                // allocator may switch in (D4)
                                w.release();
                                roundEnd.await(60, TimeUnit.SECONDS);
                            }
                        }
                    } catch (BrokenBarrierException e) {
                        if (!workers.failed()) {
                            throw e;
                        }
                    } catch (Throwable t) {
                        // the real failure first, then release the others from the barrier
                        workers.failure.compareAndSet(null, new AssertionError(w.name
                                + " failed: " + t, t));
                        roundEnd.reset();
                        throw t;
                    }
                });
            }
            for (DmaWorker w : dma) {
                w.setUp(); // before the churn may take its backend away
            }
            for (DmaWorker w : dma) {
                workers.start(w.name, () -> {
                    for (long i = 0; (i < perThread || more(deadline)) && !workers.failed();
                            i++) {
                        w.step();
                    }
                });
            }
            if (churn != null) {
                churner.start("churn", () -> {
                    while (!workersDone.get()) {
                        churn.cycle(cycles.get());
                        cycles.incrementAndGet();
                    }
                });
            }
            try {
                workers.join(RUN_TIMEOUT_MS);
            } finally {
                workersDone.set(true);
                churner.join(60_000);
            }
            nanos = System.nanoTime() - start;
            for (IdWorker w : ids) {
                ops += w.ops;
            }
            for (DmaWorker w : dma) {
                ops += w.ops;
            }
            StressFixture.report(name, ops, nanos);
            List<String> bad = new ArrayList<>();
            ids.forEach(w -> bad.addAll(w.violations()));
            dma.forEach(w -> bad.addAll(w.violations()));
            assertTrue("operations the models do not explain: " + bad, bad.isEmpty());
            assertTrue("the churn ran " + cycles.get() + " cycles", churn == null
                    || cycles.get() >= minCycles);
        }

        /** The service's snapshot against the models, before anything is released. */
        void checkSnapshot() {
            List<String> bad = new ArrayList<>(IdWorker.checkSnapshot(ioasid, ids));
            int expectedLive = IdWorker.model(ids).size();
            for (DmaWorker w : dma) {
                bad.addAll(w.checkSnapshot());
                expectedLive += w.pasidRefs() > 0 ? 1 : 0;
            }
            int live = ioasid.ids(null, Integer.MAX_VALUE).length;
            if (live != expectedLive || ioasid.stats().live != live) {
                bad.add("the service holds " + live + " live IDs (stats: " + ioasid.stats().live
                        + "), the models " + expectedLive);
            }
            assertTrue("snapshot differs from the models: " + bad, bad.isEmpty());
        }

        /** Releases everything and checks that nothing was lost, doubled or left behind. */
        void releaseAndCheck() {
            List<String> bad = new ArrayList<>();
            for (IdWorker w : ids) {
                w.release();
                bad.addAll(w.violations());
            }
            for (DmaWorker w : dma) {
                bad.addAll(w.release());
            }
            bad.addAll(DmaWorker.checkClean(iommu));
            assertTrue("release: " + bad, bad.isEmpty());
            // nothing lost: no live ID, every set empty, the quota back, the range free
            assertEquals("live IDs after everything was released", 0, ioasid.stats().live);
            assertEquals(0, ioasid.ids(null, Integer.MAX_VALUE).length);
            for (IdWorker w : ids) {
                assertEquals(w.name + "'s set", 0, w.set.size());
                assertTrue("an empty set is freed at once", ioasid.freeSet(w.set));
            }
            for (IdSpaceDTO s : ioasid.idSpaces()) {
                assertEquals("space " + s.name + " live", 0, s.live);
                assertEquals("space " + s.name + " in flight", 0, s.inFlight);
            }
            assertEquals("every quota returned (D9)", capacityBefore,
                    ioasid.capacity().available);
            IoasidSet whole = ioasid.createSet(TokenType.NONE, "whole-range", range);
            for (int i = 1; i <= range; i++) {
                assertEquals("the range is free again, lowest first", i,
                        ioasid.alloc(whole, 1, range, null).id());
            }
            assertEquals(range, ioasid.freeAllInSet(whole));
            assertTrue(ioasid.freeSet(whole));
            checkEvents();
        }

        /** Every listener's stream: valid, complete, in one order. */
        void checkEvents() {
            StatsDTO st = ioasid.stats();
            List<String> bad = new ArrayList<>();
            bad.addAll(first.violations());
            bad.addAll(last.violations());
            for (LifeCycleChecker c : journal.incarnations()) {
                bad.addAll(c.violations());
            }
            assertTrue("event streams: " + bad, bad.isEmpty());
            assertEquals("one ALLOC per allocation: " + first.counts(), st.allocations,
                    first.allocs);
            assertEquals("one FREE per lifetime: " + first.counts(), first.allocs, first.frees);
            assertEquals("BIND and UNBIND pair up: " + first.counts(), first.binds,
                    first.unbinds);
            assertEquals(0, first.liveIds());
            assertEquals(0, first.boundIds());
            assertEquals("the last listener got the same events", first.counts().replace(
                    "first", "last"), last.counts());
            long[] all = first.liveSequences();
            for (LifeCycleChecker c : journal.incarnations()) {
                long[] mine = c.liveSequences();
                if (mine.length == 0) {
                    continue;
                }
                int at = Arrays.binarySearch(all, mine[0]);
                assertTrue(c.name + " got an event the first listener did not", at >= 0);
                assertTrue(c.name + " missed events between its first and its last: "
                        + c.counts(), at + mine.length <= all.length && Arrays.equals(mine,
                                Arrays.copyOfRange(all, at, at + mine.length)));
            }
        }
    }

    // ------------------------------------------------------------------ the scenarios

    /** A guest VT-d vIOMMU whose VCMD allocator reaches the host space (see UseCasesIT). */
    private void guestVtd(String name) throws Exception {
        Configs.vtd(name, name + "-nic;pasid=20").cachingMode(true).vcmd(true).vcmdVm("vm0")
                .create(ca);
    }

    private AllocatorDTO vcmd() {
        AllocatorDTO[] a = ioasid.allocators();
        return a.length == 1 ? a[0] : null;
    }

    private IdSpaceDTO space(String name) {
        return StressFixture.space(ioasid, name);
    }

    /** Starts a guest VT-d whose active VCMD allocator reaches the host space; returns that. */
    private IoasidService vcmdGuest() throws Exception {
        Configs.host().create(ca);
        IoasidService host = IoasidPlatform.hostSpace(ctx);
        guestVtd("dmar-g0");
        await("the VCMD allocator", () -> vcmd() != null
                && vcmd().state.equals(AllocatorDTO.ACTIVE));
        return host;
    }

    /**
     * (1) IOASID operations while the VT-d bundle, whose guest VCMD allocator hands out the IDs
     * from a host space, is stopped and started again and again: each stop revokes what the
     * allocator handed out (D7), allocations in flight fail with EAGAIN, the default allocator
     * takes over, and the VCMD allocator comes back once the default space empties (D4).
     */
    @Test
    public void stressAllocatorBundleRestartsRevokeUnderLoad() throws Exception {
        IoasidService host = vcmdGuest();
        Bundle vtd = IoasidPlatform.bundle(ctx, "backend.vtd");
        Run run = new Run("allocator bundle stop/start (VT-d VCMD)");
        run.range = 1024;
        run.rounds(8);
        run.minCycles = 6;
        run.ids(IdWorker.MIXED, true);
        run.ids(IdWorker.MIXED, true);
        long[] revokedByStops = {0};
        run.churn = n -> {
            // stop it while its space holds IDs, so that the stop revokes some
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (System.nanoTime() < until) {
                AllocatorDTO a = vcmd();
                IdSpaceDTO s = a == null ? null : space(a.idSpace);
                if (s != null && s.active && s.live > 0) {
                    break;
                }
                Thread.sleep(1);
            }
            long before = ioasid.stats().revoked;
            vtd.stop();
            revokedByStops[0] += ioasid.stats().revoked - before;
            Thread.sleep(rnd.nextInt(5));
            vtd.start();
            Thread.sleep(5 + rnd.nextInt(15));
        };
        run.go();
        await("the VCMD allocator back", () -> vcmd() != null);
        run.checkSnapshot();
        AllocatorDTO a = vcmd();
        IdSpaceDTO vs = space(a.idSpace);
        IoasidSet vm = host.findSet(TokenType.NONE, "vcmd:vm0");
        assertEquals("the host holds exactly what the VCMD space holds", vs.live, vm.size());
        run.releaseAndCheck();
        StatsDTO st = ioasid.stats();
        System.out.println("STRESS   revoked " + st.revoked + " (" + revokedByStops[0]
                + " by the stops), switches " + st.allocatorSwitches + ", EAGAIN "
                + run.ids.stream().mapToLong(w -> w.eagain).sum() + ", cycles "
                + run.cycles.get());
        assertTrue("some stops revoked IDs (D7): " + st.revoked, st.revoked > 0);
        assertTrue("the allocator switched back and forth: " + st.allocatorSwitches,
                st.allocatorSwitches >= 2);
        assertEquals("the revocations are counted once each", revokedByStops[0], st.revoked);
        assertEquals("nothing left on the host", 0, host.findSet(TokenType.NONE, "vcmd:vm0")
                .size());
        assertEquals("nothing left on the host", 0, host.stats().live);
    }

    /**
     * (2) DMA traffic (map, unmap, iova_to_phys, translation probes with and without a PASID) on
     * caller domains of all three backends while the VT-d bundle is updated again and again:
     * its workers see their domains die and start over (D17), the other backends' workers never
     * notice (D16), and no probe ever shows a domain or address other than the model's (D18).
     */
    @Test
    public void stressBackendUpdatedUnderDmaTraffic() throws Exception {
        backends();
        Bundle vtd = IoasidPlatform.bundle(ctx, "backend.vtd");
        Run run = new Run("backend bundle update under DMA traffic");
        run.minCycles = 3;
        run.dma(SMMU_DEV, false, true, false);
        run.dma(SMMU_DEV2, false, false, false);
        run.dma(VTD_DEV, true, true, false);
        run.dma(VIRTIO_DEV, false, false, false);
        run.ids(IdWorker.MIXED, false);
        run.churn = n -> {
            long before = IoasidPlatform.backend(iommu, "dmar0").serviceId;
            try (InputStream in = PlatformBundles.open("backend.vtd")) {
                vtd.update(in);
            }
            StressFixture.refresh(ctx, vtd);
            await("dmar0 back", () -> hasBackend(iommu, "dmar0")
                    && IoasidPlatform.backend(iommu, "dmar0").serviceId != before);
            Thread.sleep(10 + rnd.nextInt(30));
        };
        run.go();
        awaitBackends("smmu0", "dmar0", "viommu0");
        run.checkSnapshot();
        long deaths = run.dma.get(2).deaths;
        System.out.println("STRESS   VT-d worker deaths " + deaths + ", away polls "
                + run.dma.get(2).awayPolls + ", cycles " + run.cycles.get() + ", probes "
                + run.dma.stream().mapToLong(w -> w.translations).sum());
        assertTrue("the VT-d worker lost its domain to the updates", deaths >= 1);
        for (int i : new int[] {0, 1, 3}) {
            assertEquals("a worker of an untouched backend lost its domain", 0,
                    run.dma.get(i).deaths);
        }
        run.releaseAndCheck();
    }

    /**
     * (3) IOASID operations while listener bundles are installed, started, stopped and
     * uninstalled: every incarnation's stream is a valid life cycle from its replay on (D15),
     * holds every event from its first to its last (none lost), in chain order (D12), and the
     * listeners present throughout get everything exactly once.
     */
    @Test
    public void stressListenerBundlesComeAndGo() throws Exception {
        Run run = new Run("listener bundles come and go");
        run.minCycles = 30;
        run.ids(IdWorker.MIXED, false);
        run.ids(IdWorker.MIXED, false);
        String[] names = {"cpu", "device", "late"};
        int[] rankings = {800, 150, 50};
        Bundle[] bundles = new Bundle[names.length];
        run.churn = n -> {
            int i = rnd.nextInt(names.length);
            Bundle b = bundles[i];
            if (b == null) {
                b = ctx.installBundle("stress:" + names[i] + ":" + n,
                        StressFixture.listenerBundle(names[i], rankings[i]));
                b.start();
                bundles[i] = b;
            } else if (b.getState() == Bundle.ACTIVE) {
                b.stop();
            } else if (rnd.nextBoolean()) {
                b.start();
            } else {
                b.uninstall();
                bundles[i] = null;
            }
            Thread.sleep(1 + rnd.nextInt(4));
        };
        run.go();
        run.checkSnapshot();
        run.releaseAndCheck();
        List<LifeCycleChecker> all = journal.incarnations();
        long withEvents = all.stream().filter(c -> c.liveSequences().length > 0).count();
        System.out.println("STRESS   " + all.size() + " listener incarnations, " + withEvents
                + " with live events, " + all.stream().mapToLong(c -> c.replays).sum()
                + " replayed events");
        assertTrue("listener bundles came and went: " + all.size(), all.size() >= 10);
        assertTrue("late listeners got the state replayed",
                all.stream().anyMatch(c -> c.replays > 0));
        for (int i = 0; i < names.length; i++) {
            if (bundles[i] != null && bundles[i].getState() == Bundle.ACTIVE) {
                LifeCycleChecker c = journal.latest(names[i]);
                assertEquals(c.name + " ends with nothing live", 0, c.liveIds());
                assertEquals(c.counts(), c.allocs, c.frees);
            }
        }
    }

    /**
     * (4) SPID churn (attach, detach, find by SPID with and without a reference) while the two
     * members of a shared helper group are updated one at a time: the group never empties, so
     * nothing is revoked and the space never switches (rules 17, 25), and every SPID stays
     * exactly where the workers put it.
     */
    @Test
    public void stressSpidChurnWhileSharedAllocatorsUpdate() throws Exception {
        HostSpace hostSpace = new HostSpace();
        StressFixture.registerHost(ctx, "spid", hostSpace);
        Bundle[] members = {
            ctx.installBundle("stress:a1", StressFixture.allocatorBundle("a1", 10, "spid", true)),
            ctx.installBundle("stress:a2", StressFixture.allocatorBundle("a2", 5, "spid", true))};
        for (Bundle b : members) {
            b.start();
        }
        await("the shared group active", () -> ioasid.allocators().length == 2
                && space(StressFixture.HELPERS) != null && space(StressFixture.HELPERS).active);
        long switchesBefore = ioasid.stats().allocatorSwitches;
        Run run = new Run("SPID churn, shared allocators updated");
        run.minCycles = 6;
        run.ids(IdWorker.SPID_HEAVY, false);
        run.ids(IdWorker.SPID_HEAVY, false);
        run.churn = n -> {
            Bundle b = members[n % 2];
            try (InputStream in = StressFixture.allocatorBundle(n % 2 == 0 ? "a1" : "a2",
                    n % 2 == 0 ? 10 : 5, "spid", true)) {
                b.update(in);
            }
            await("both members", () -> ioasid.allocators().length == 2);
            Thread.sleep(2 + rnd.nextInt(10));
        };
        run.go();
        run.checkSnapshot();
        IdSpaceDTO shared = space(StressFixture.HELPERS);
        assertEquals("the host holds exactly what the shared space holds", shared.live,
                hostSpace.outstanding());
        run.releaseAndCheck();
        StatsDTO st = ioasid.stats();
        long spidOps = run.ids.stream().mapToLong(w -> w.ops).sum();
        System.out.println("STRESS   " + first.binds + " BIND / " + first.unbinds + " UNBIND, "
                + spidOps + " ops, " + hostSpace);
        assertEquals("members came and went without revoking anything (rule 25)", 0, st.revoked);
        assertEquals("the space never switched", switchesBefore, st.allocatorSwitches);
        assertEquals("no allocator fault", 0, st.allocatorFaults);
        assertEquals("the host got every ID back", 0, hostSpace.outstanding());
        assertEquals("and none twice", 0, hostSpace.badFrees());
        assertTrue("SPIDs were attached: " + first.counts(), first.binds > 100);
    }

    /**
     * (5) Everything at once: IOASID workers, DMA workers with PASIDs on all three backends, and
     * a churn that in turn restarts the allocator bundle (revoking IDs and PASIDs), stops and
     * starts or updates each backend, and starts and stops listener bundles.
     */
    @Test
    public void stressEverythingAtOnce() throws Exception {
        backends();
        HostSpace hostSpace = new HostSpace();
        Bundle alloc = StressFixture.startAllocator(ctx, ioasid, "all", hostSpace,
                true);
        Run run = new Run("everything at once");
        run.minCycles = 12;
        run.ids(IdWorker.MIXED, true);
        run.ids(IdWorker.MIXED, true);
        run.dma(SMMU_DEV, true, true, true);
        run.dma(VTD_DEV, true, true, true);
        run.dma(VIRTIO_DEV, true, false, true);
        Bundle listener = ctx.installBundle("stress:l", StressFixture.listenerBundle("dev", 150));
        String[] backendBundles = {"backend.smmuv3", "backend.virtio", "backend.vtd"};
        String[] backendNames = {"smmu0", "viommu0", "dmar0"};
        int[] backendTurns = {0};
        run.churn = n -> {
            switch (n % 6) {
                case 0:
                    alloc.stop();
                    Thread.sleep(rnd.nextInt(5));
                    alloc.start();
                    break;
                case 2:
                case 5:
                    if (listener.getState() == Bundle.ACTIVE) {
                        listener.stop();
                    } else {
                        listener.start();
                    }
                    break;
                default:
                    int turn = backendTurns[0]++;
                    int k = turn % 3;
                    Bundle b = IoasidPlatform.bundle(ctx, backendBundles[k]);
                    if ((turn / 3) % 2 == 1) {
                        try (InputStream in = PlatformBundles.open(backendBundles[k])) {
                            b.update(in);
                        }
                        StressFixture.refresh(ctx, b);
                    } else {
                        b.stop();
                        Thread.sleep(rnd.nextInt(5));
                        b.start();
                    }
                    await(backendNames[k] + " back", () -> hasBackend(iommu, backendNames[k]));
            }
            Thread.sleep(5 + rnd.nextInt(20));
        };
        run.go();
        if (alloc.getState() != Bundle.ACTIVE) {
            alloc.start();
        }
        awaitBackends("smmu0", "dmar0", "viommu0");
        await("the allocator back", () -> space(StressFixture.HELPERS) != null);
        run.checkSnapshot();
        run.releaseAndCheck();
        StatsDTO st = ioasid.stats();
        System.out.println("STRESS   revoked " + st.revoked + ", switches "
                + st.allocatorSwitches + ", DMA deaths "
                + run.dma.stream().mapToLong(w -> w.deaths).sum() + ", cycles "
                + run.cycles.get() + ", " + hostSpace);
        System.out.println("STRESS   listener incarnations " + journal.incarnations().size()
                + ", " + journal.incarnations().stream().mapToLong(c -> c.replays).sum()
                + " replayed events, " + first.binds + " BIND / " + first.unbinds + " UNBIND");
        assertEquals("no allocator fault", 0, st.allocatorFaults);
        assertEquals("the host got every ID back (owed ones once the allocator returned)", 0,
                hostSpace.outstanding());
        assertEquals("and none twice", 0, hostSpace.badFrees());
        for (GroupDTO g : iommu.groups()) {
            assertTrue("group " + g.id + " is served", !g.blocked);
        }
    }

    /**
     * A listener that joins while the last reference of an ID is being put (found by
     * {@link #stressListenerBundlesComeAndGo}): {@code put} drops the count to zero by
     * compare-and-set outside the core lock and reclaims under it afterwards, so the replay (D15)
     * may find the ID dying. It must replay it (ALLOC, BIND for its SPID, FREE if freed), so that
     * the UNBIND (an ID freed with a SPID) or FREE (an allocation reference put without a free)
     * of the reclaim that follows ends a life the listener saw begin, and it must see that end
     * (D13). Here the replay of many IDs keeps the lock long enough for a put to land in the
     * window, at the far end of the ID range, where the replay has not looked yet.
     */
    @Test
    public void stressLateListenerSeesNoHalfLifeOfADyingId() throws Exception {
        IoasidSet s = ioasid.createSet(TokenType.NONE, "many", 0);
        int n = 150_000;
        IoasidHandle[] hs = new IoasidHandle[n];
        for (int i = 0; i < n; i++) {
            hs[i] = ioasid.alloc(s, 1, Ioasid.MAX_ID, null);
        }
        List<String> seen = new ArrayList<>();
        for (int attempt = 0; attempt < 40 && seen.isEmpty(); attempt++) {
            IoasidHandle freedWithSpid = hs[n - 1 - 2 * attempt];
            IoasidHandle neverFreed = hs[n - 2 - 2 * attempt];
            ioasid.get(freedWithSpid);
            ioasid.attachSpid(freedWithSpid, 7 + attempt);
            ioasid.free(freedWithSpid); // FREE_PENDING, SPID still attached, one reference
            CountDownLatch go = new CountDownLatch(1);
            long delay = 50_000L * attempt;
            // the reclaim of the first sends UNBIND; the second's allocation reference goes
            // without a free, so its reclaim sends FREE
            List<Thread> putters = new ArrayList<>();
            for (IoasidHandle h : new IoasidHandle[] {freedWithSpid, neverFreed}) {
                Thread t = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    LockSupport.parkNanos(delay);
                    ioasid.put(h);
                });
                t.start();
                putters.add(t);
            }
            LifeCycleChecker late = new LifeCycleChecker("late-" + attempt, false);
            go.countDown();
            ServiceRegistration<IoasidListener> reg = StressFixture.registerListener(ctx, late,
                    "late-" + attempt, 5);
            for (Thread t : putters) {
                t.join();
            }
            reg.unregister();
            seen.addAll(late.violations());
            // put returns once its events are delivered: any life begun here has ended
            for (IoasidHandle h : new IoasidHandle[] {freedWithSpid, neverFreed}) {
                if (late.openLife(h.id())) {
                    seen.add(late.name + " never saw the end of " + h.id() + ": "
                            + late.counts());
                }
            }
        }
        assertTrue("a late listener saw the end of lifetimes it never saw begin: " + seen,
                seen.isEmpty());
    }

    /**
     * The IOMMU core sends BIND through {@code notify} when it attaches a PASID and UNBIND when it
     * detaches it (S6; found by {@link #stressEverythingAtOnce}). A listener that arrives in
     * between is replayed the outstanding BIND after the ALLOC (D15), so the UNBIND that follows
     * closes a bind cycle it saw open (D13); one that arrives after the UNBIND is replayed no
     * BIND, as none is outstanding any more.
     */
    @Test
    public void stressLateListenerSeesIommuBindBeforeUnbind() throws Exception {
        backends();
        IoasidHandle pasid = iommu.allocGlobalPasid(VTD_DEV);
        IommuDomain d = iommu.domainAlloc(VTD_DEV, false);
        iommu.attachDevicePasid(d, VTD_DEV, pasid); // BIND
        // the IOMMU core sends it from its queue, which another thread may still be running
        await("the BIND sent", () -> first.binds == 1);
        LifeCycleChecker late = new LifeCycleChecker("late", false);
        StressFixture.registerListener(ctx, late, "late", 5); // replay: ALLOC, BIND
        iommu.detachDevicePasid(d, VTD_DEV, pasid); // UNBIND
        await("the UNBIND sent", () -> first.unbinds == 1);
        LifeCycleChecker later = new LifeCycleChecker("later", false);
        StressFixture.registerListener(ctx, later, "later", 4); // replay: ALLOC only
        iommu.freeGlobalPasid(pasid); // FREE
        await("the FREE", () -> late.frees == 1 && later.frees == 1);
        assertEquals("first saw ALLOC, BIND, UNBIND, FREE: " + first.counts(), 1, first.binds);
        assertEquals(first.counts(), 1, first.unbinds);
        for (LifeCycleChecker c : List.of(late, later)) {
            assertTrue(c.name + "'s stream: " + c.violations(), c.violations().isEmpty());
            assertTrue(c.name + " saw the PASID's life end: " + c.counts(),
                    !c.openLife(pasid.id()));
        }
        assertEquals("the late listener got ALLOC and BIND replayed: " + late.counts(), 2,
                late.replays);
        assertEquals("then the UNBIND: " + late.counts(), 1, late.binds);
        assertEquals(late.counts(), 1, late.unbinds);
        assertEquals("no BIND outstanding after the UNBIND: " + later.counts(), 1,
                later.replays);
        assertEquals(later.counts(), 0, later.binds);
        assertEquals(later.counts(), 0, later.unbinds);
    }

    /**
     * The IOMMU core sends a PASID's BIND later, from its queue of ordered actions, while a
     * revocation sends the FREE at once (found by {@link #stressEverythingAtOnce}). When another
     * thread is running that queue, {@code attachDevicePasid} returns with the BIND still queued;
     * if the PASID is revoked then (its allocator leaves, D7), the late BIND is refused (EBUSY on
     * a FREE_PENDING ID) and not counted, so the UNBIND of the detach that the FREE causes sends
     * nothing: listeners see ALLOC, FREE and no half bind cycle (D13). Here a listener holding
     * the queue's runner (it blocks on an UNBIND the queue sends) makes the interleaving certain.
     */
    @Test
    public void stressRevocationOvertakesAQueuedIommuBind() throws Exception {
        backends();
        HostSpace hostSpace = new HostSpace();
        Bundle alloc = StressFixture.startAllocator(ctx, ioasid, "bind", hostSpace,
                true);
        IoasidHandle p1 = iommu.allocGlobalPasid(VTD_DEV);
        IoasidHandle p2 = iommu.allocGlobalPasid(VTD_DEV);
        IommuDomain d = iommu.domainAlloc(VTD_DEV, false);
        iommu.attachDevicePasid(d, VTD_DEV, p1);
        CountDownLatch blocked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        StressFixture.registerListener(ctx, e -> {
            if (e.type() == EventType.UNBIND && e.id() == p1.id()) {
                blocked.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                }
            }
        }, "holder", 5);
        StressFixture.Crew crew = new StressFixture.Crew();
        // runs the queue: its UNBIND of p1 blocks in the holder
        crew.start("detach", () -> iommu.detachDevicePasid(d, VTD_DEV, p1));
        assertTrue(blocked.await(10, TimeUnit.SECONDS));
        iommu.attachDevicePasid(d, VTD_DEV, p2); // its BIND waits in the queue
        crew.start("revoke", alloc::stop); // the FREE of p2 goes out at once
        await("the revocation", () -> ioasid.stats().revoked >= 1);
        release.countDown();
        crew.join(30_000);
        await("p2 reclaimed", () -> p2.state() == IoasidState.FREE);
        assertTrue("events of p2: " + first.violations(), first.violations().isEmpty());
        assertTrue("p2's life ended: " + first.counts(), !first.openLife(p2.id()));
        assertEquals("only p1's bind cycle: " + first.counts(), 1, first.binds);
        assertEquals(first.counts(), 1, first.unbinds);
    }

    /**
     * When the VT-d bundle stops, its {@code VcmdHost.release()} frees the VM's host PASIDs, so
     * the IDs revoked in the guest must not also be given back (owed, D7) to the next session,
     * which may have handed the same numbers out to live guest IDs (found by
     * {@link #stressAllocatorBundleRestartsRevokeUnderLoad}, whose log filled with "trying to
     * free invalid PASID"). The helpers are per VMM session, so a new session never matches the
     * old one's. Two threads allocate and free while the bundle stops and starts: the only
     * failures are EAGAIN while the allocator is away and ENOENT for a free that a revocation
     * overtook, never EBUSY ("returned N, which is still in use") or an allocator fault.
     */
    @Test
    public void stressVcmdRestartsNeverHandOutALiveId() throws Exception {
        IoasidService host = vcmdGuest();
        Bundle vtd = IoasidPlatform.bundle(ctx, "backend.vtd");
        IoasidSet s = ioasid.createSet(TokenType.NONE, "guest", 100);
        AtomicBoolean stop = new AtomicBoolean();
        Map<String, AtomicLong> failures = new ConcurrentHashMap<>();
        List<String> samples = Collections.synchronizedList(new ArrayList<>());
        StressFixture.Crew crew = new StressFixture.Crew();
        for (int i = 0; i < 2; i++) {
            crew.start("guest-" + i, () -> {
                while (!stop.get()) {
                    try {
                        IoasidHandle h = ioasid.alloc(s, 1, 1024, null);
                        try {
                            ioasid.free(h);
                        } catch (IoasidException e) {
                            failures.computeIfAbsent("free " + e.errno(),
                                    k -> new AtomicLong())
                                    .incrementAndGet(); // ENOENT: revoked and reclaimed
                        }
                    } catch (IoasidException e) {
                        if (failures.computeIfAbsent("alloc " + e.errno(),
                                k -> new AtomicLong())
                                .incrementAndGet() < 3 && e.errno() != Errno.EAGAIN) {
                            samples.add(e.getMessage());
                        }
                    }
                }
            });
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
        int cycles = 0;
        while (System.nanoTime() < end) {
            vtd.stop(); // EAGAIN for allocations in flight and revocations are expected
            vtd.start();
            cycles++;
            Thread.sleep(2);
        }
        stop.set(true);
        crew.join(30_000);
        System.out.println("STRESS   VCMD restarts " + cycles + ": " + failures);
        assertEquals("host and guest agree at the end", 0, host.stats().live);
        assertTrue("a healthy allocator never hands out an ID the guest holds: " + failures
                + " " + samples, !failures.containsKey("alloc EBUSY"));
        assertTrue("every failure is explained: " + failures + " " + samples, Set.of(
                "alloc EAGAIN", "free ENOENT").containsAll(failures.keySet()));
        assertEquals("no allocator fault", 0, ioasid.stats().allocatorFaults);
    }
}
