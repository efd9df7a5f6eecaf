package ioasid.backend.virtio.impl;

import static ioasid.backend.virtio.impl.VirtioFixture.GPU;
import static ioasid.backend.virtio.impl.VirtioFixture.NIC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;

/**
 * Seeded random operation sequences checked against a small reference model of the driver's
 * trees and attachments, and concurrent page-table calls against the device.
 */
class ModelBasedTest {
    private static final long PAGE = 0x1000;
    private static final String[] DEVS = {GPU, NIC};

    /** The reference: per domain, mappings by start page as {end page, phys, flags}. */
    private static final class Model {
        final List<TreeMap<Long, long[]>> trees = new ArrayList<>();
        final Map<String, Integer> attached = new HashMap<>();
        final Map<String, Boolean> everAttached = new HashMap<>();

        boolean overlaps(int d, long first, long last) {
            for (Map.Entry<Long, long[]> e : trees.get(d).entrySet()) {
                if (e.getKey() <= last && e.getValue()[0] >= first) {
                    return true;
                }
            }
            return false;
        }

        long unmap(int d, long first, long last) {
            long cursor = first;
            long bytes = 0;
            TreeMap<Long, long[]> t = trees.get(d);
            Map.Entry<Long, long[]> start = t.floorEntry(first);
            if (start != null && start.getValue()[0] >= first && start.getKey() < first) {
                return 0; // a mapping from before: UNMAP cannot split it
            }
            while (true) {
                long[] m = t.get(cursor);
                if (m == null || cursor > last) {
                    return bytes * PAGE;
                }
                t.remove(cursor);
                bytes += m[0] - cursor + 1;
                cursor = m[0] + 1;
            }
        }

        long[] lookup(int d, long page) {
            Map.Entry<Long, long[]> e = trees.get(d).floorEntry(page);
            return e != null && e.getValue()[0] >= page ? new long[] {e.getKey(), e.getValue()[1],
                e.getValue()[2]} : null;
        }
    }

    @Test
    @DisplayName("rules 100-103: random map/unmap/attach/detach/sync sequences keep the driver's "
            + "tree, the device's tree and translation equal to a reference model")
    void randomSequences() {
        long base = System.nanoTime();
        for (int run = 0; run < 25; run++) {
            long seed = base + run;
            try {
                runSeed(seed, 400);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("failed with seed " + seed + ": " + e, e);
            }
        }
    }

    private static void runSeed(long seed, int steps) {
        Random rnd = new Random(seed);
        VirtioIommuBackend b = VirtioFixture.backend(VirtioIommuParams.defaults("viommu0")
                .devices(VirtioFixture.GPU_SPEC, VirtioFixture.NIC_SPEC));
        Model model = new Model();
        List<VirtioIommuDomain> domains = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            domains.add(VirtioFixture.paging(b));
            model.trees.add(new TreeMap<>());
        }
        for (int step = 0; step < steps; step++) {
            int op = rnd.nextInt(10);
            int d = rnd.nextInt(domains.size());
            VirtioIommuDomain dom = domains.get(d);
            String dev = DEVS[rnd.nextInt(DEVS.length)];
            long page = rnd.nextInt(48);
            long count = 1 + rnd.nextInt(4);
            if (op < 4) {
                long phys = (long) rnd.nextInt(1 << 16) * PAGE;
                int prot = rnd.nextBoolean() ? VirtioFixture.RW : Prot.READ;
                boolean clash = model.overlaps(d, page, page + count - 1);
                try {
                    dom.mapPages(page * PAGE, phys, PAGE, count, prot);
                    assertEquals(false, clash, "mapped over an existing mapping");
                    model.trees.get(d).put(page, new long[] {page + count - 1, phys,
                        prot == VirtioFixture.RW ? 3 : 1});
                } catch (IoasidException e) {
                    assertEquals(true, clash, e.toString());
                    assertEquals(ioasid.api.Errno.EEXIST, e.errno());
                }
            } else if (op < 7) {
                long expected = model.unmap(d, page, page + count - 1);
                assertEquals(expected, dom.unmapPages(page * PAGE, PAGE, count,
                        new IotlbGather()), "unmap at page " + page);
            } else if (op == 7) {
                b.attachDev(dev, dom);
                model.attached.put(dev, d);
                model.everAttached.put(dev, true);
            } else if (op == 8) {
                b.detachDev(dev);
                model.attached.remove(dev);
            } else {
                dom.flushIotlbAll();
                check(b, model, domains, rnd);
            }
            for (int i = 0; i < domains.size(); i++) {
                List<IntervalMap.Interval<VirtioIommuDomain.Mapping>> tree =
                        b.driver().driverMappings(domains.get(i));
                assertEquals(model.trees.get(i).size(), tree.size(), "driver tree of domain " + i);
                assertEquals(model.trees.get(i).keySet().stream().map(p -> p * PAGE).toList(),
                        tree.stream().map(IntervalMap.Interval::start).toList());
            }
        }
    }

    /** After a kick, the device holds exactly what the model says and translates by it. */
    private static void check(VirtioIommuBackend b, Model model, List<VirtioIommuDomain> domains,
            Random rnd) {
        for (int i = 0; i < domains.size(); i++) {
            VirtioIommuDomain dom = domains.get(i);
            boolean live = model.attached.containsValue(i);
            long id = dom.domainId();
            if (!live) {
                assertEquals(false, id >= 0 && b.driver().device().hasDomain(id),
                        "a domain with no endpoint is gone from the device");
                continue;
            }
            assertEquals(model.trees.get(i).size(), b.driver().device().mappings(id).size());
        }
        for (String dev : DEVS) {
            long page = rnd.nextInt(52);
            Walk w = b.translate(dev, 0, page * PAGE + 8, Access.READ);
            Integer d = model.attached.get(dev);
            if (d == null) {
                assertEquals(Translation.Outcome.FAULT, w.outcome());
                assertEquals(model.everAttached.containsKey(dev) ? "DOMAIN" : "UNKNOWN",
                        w.fault());
                assertNull(w.domain());
                continue;
            }
            long[] m = model.lookup(d, page);
            assertSame(domains.get(d), w.domain());
            if (m == null) {
                assertEquals("MAPPING", w.fault(), w.toString());
            } else {
                assertEquals(Translation.Outcome.TRANSLATED, w.outcome(), w.toString());
                assertEquals(m[1] + (page - m[0]) * PAGE + 8, w.physAddr());
            }
        }
    }

    @Test
    @DisplayName("BackendDomain contract: concurrent map, unmap, sync and translate from several "
            + "threads leave the driver's and the device's trees equal")
    void concurrentPageTableCalls() throws Exception {
        VirtioIommuBackend b = VirtioFixture.backend(VirtioIommuParams.defaults("viommu0")
                .devices(VirtioFixture.GPU_SPEC, VirtioFixture.NIC_SPEC));
        VirtioIommuDomain d = VirtioFixture.paging(b);
        b.attachDev(GPU, d);
        b.attachDev(NIC, d);
        int threads = 4;
        ExecutorService pool = Executors.newFixedThreadPool(threads + 2);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Long>> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long base = (long) (t + 1) << 24;
            long seed = 77 + t;
            workers.add(pool.submit(() -> {
                Random rnd = new Random(seed);
                go.await();
                long mapped = 0;
                for (int i = 0; i < 2000; i++) {
                    long iova = base + (long) rnd.nextInt(64) * PAGE;
                    if (rnd.nextBoolean()) {
                        try {
                            d.mapPages(iova, iova, PAGE, 1, VirtioFixture.RW);
                            mapped++;
                        } catch (IoasidException e) {
                            assertEquals(ioasid.api.Errno.EEXIST, e.errno());
                        }
                    } else {
                        IotlbGather g = new IotlbGather();
                        mapped -= d.unmapPages(iova, PAGE, 1, g) / PAGE;
                        if (rnd.nextInt(4) == 0) {
                            d.iotlbSync(g);
                        }
                    }
                }
                return mapped;
            }));
        }
        List<Future<Long>> probes = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            String dev = DEVS[t];
            probes.add(pool.submit(() -> {
                go.await();
                long seen = 0;
                Random rnd = new Random(dev.hashCode());
                for (int i = 0; i < 4000; i++) {
                    long iova = ((long) (1 + rnd.nextInt(threads)) << 24)
                            + (long) rnd.nextInt(64) * PAGE;
                    Walk w = b.translate(dev, 0, iova, Access.WRITE);
                    if (w.outcome() == Translation.Outcome.TRANSLATED) {
                        assertEquals(iova, w.physAddr(), "identity by construction");
                        seen++;
                    } else {
                        assertEquals("MAPPING", w.fault());
                    }
                }
                return seen;
            }));
        }
        go.countDown();
        long total = 0;
        for (Future<Long> f : workers) {
            total += f.get(60, TimeUnit.SECONDS);
        }
        for (Future<Long> f : probes) {
            f.get(60, TimeUnit.SECONDS);
        }
        pool.shutdown();
        d.flushIotlbAll();
        assertEquals(total, b.driver().driverMappings(d).size());
        assertEquals(
                b.driver().driverMappings(d).stream().map(IntervalMap.Interval::start).toList(),
                b.driver().device().mappings(d.domainId()).stream().map(IntervalMap.Interval::start)
                        .toList());
    }
}
