package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.G1;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.GPU;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.K4;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.NIC;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.RW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.iommu.Access;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;

/** Page-table calls and probes from many threads (IommuBackend contract). */
class ConcurrencyTest {

    @Test
    @DisplayName("decision D18/IommuBackend contract: map, unmap, sync and translate from many "
            + "threads keep every thread's view exact")
    void parallelMapUnmapTranslate() throws Exception {
        Smmuv3Fixture fx = new Smmuv3Fixture();
        Smmuv3Domain d = fx.attachedPaging(GPU);
        d.mapPages(10 * G1, 0x77_0000_0000L, K4, 1, RW); // a page that never changes
        int threads = 4;
        CountDownLatch start = new CountDownLatch(1);
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        AtomicBoolean done = new AtomicBoolean();
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long window = t * G1;
            all.add(new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < 300; i++) {
                        long va = window + (i % 64) * K4;
                        long pa = 0x10_0000_0000L + window + i * K4;
                        d.mapPages(va, pa, K4, 1, RW);
                        Walk w = fx.read(GPU, va + 8);
                        assertEquals(pa + 8, w.physAddr());
                        IotlbGather g = new IotlbGather();
                        assertEquals(K4, d.unmapPages(va, K4, 1, g));
                        d.iotlbSync(g);
                        assertEquals(Smmu.F_TRANSLATION, fx.read(GPU, va).fault());
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        Thread prober = new Thread(() -> {
            try {
                start.await();
                while (!done.get()) {
                    assertEquals(0x77_0000_0000L, fx.read(GPU, 10 * G1).physAddr());
                }
            } catch (Throwable e) {
                errors.add(e);
            }
        });
        all.forEach(Thread::start);
        prober.start();
        start.countDown();
        for (Thread t : all) {
            t.join(TimeUnit.SECONDS.toMillis(60));
        }
        done.set(true);
        prober.join(TimeUnit.SECONDS.toMillis(10));
        if (!errors.isEmpty()) {
            throw new AssertionError(errors.peek());
        }
        for (int t = 0; t < threads; t++) {
            assertEquals(0, d.iovaToPhys(t * G1));
        }
    }

    @Test
    @DisplayName("decision D16/IommuBackend contract: an SVA walk calls the process outside the "
            + "instance lock")
    void svaWalkOutsideLock() throws Exception {
        Smmuv3Fixture fx = new Smmuv3Fixture();
        fx.attachedPaging(GPU);
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ProcessAddressSpace slow = new ProcessAddressSpace() {
            @Override
            public long translate(long va, Access access) {
                inside.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return 0x5000;
            }

            @Override
            public int asid() {
                return 33;
            }
        };
        Smmuv3Domain sva = (Smmuv3Domain) fx.b.svaDomainAlloc(slow);
        fx.b.setDevPasid(GPU, 1, sva);
        Thread walker = new Thread(() -> fx.tr(GPU, 1, 0, Access.READ));
        walker.start();
        assertTrue(inside.await(10, TimeUnit.SECONDS));
        // While the process is being walked, other calls go through.
        fx.b.attachDev(NIC, fx.paging());
        assertTrue(fx.b.devices().size() == 3);
        release.countDown();
        walker.join(10_000);
    }
}
