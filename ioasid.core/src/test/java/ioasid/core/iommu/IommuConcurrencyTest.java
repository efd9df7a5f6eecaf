package ioasid.core.iommu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.Translation;

/** Page-table calls and probes racing backends that leave and return (D17, the IOASID core's C7). */
class IommuConcurrencyTest {

    @Test
    @Timeout(60)
    @DisplayName("D17: maps, unmaps and probes racing a departing backend never reach it, and fail "
            + "only with ENODEV")
    void dataPathAgainstDeparture() throws Exception {
        long seed = new Random().nextLong();
        IommuFixture fx = new IommuFixture();
        AtomicReference<Throwable> bad = new AtomicReference<>();
        AtomicLong ops = new AtomicLong();
        List<TestBackend> gone = new ArrayList<>();
        for (int round = 0; round < 30 && bad.get() == null; round++) {
            TestBackend be = fx.bind(new TestBackend("smmu0", 64).device("a", "ga", 6));
            IommuDomain d = fx.iommu.domainAlloc("a", false);
            fx.iommu.attachGroup(d, fx.iommu.group("a"));
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> workers = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                Random rnd = new Random(seed + round * 7 + w);
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        long iova = (rnd.nextInt(64) + 1) * 0x1000L;
                        try {
                            switch (rnd.nextInt(3)) {
                                case 0:
                                    fx.iommu.map(d, iova, iova + 0x100000, 0x1000, Prot.READ);
                                    break;
                                case 1:
                                    fx.iommu.unmap(d, iova, 0x1000);
                                    break;
                                default:
                                    Translation tr = fx.probe("a", 0, iova);
                                    if (tr.translated() && tr.physAddr() != iova + 0x100000) {
                                        bad.compareAndSet(null, new AssertionError("bad walk " + tr));
                                    }
                            }
                            ops.incrementAndGet();
                        } catch (IoasidException e) {
                            if (e.errno() != Errno.ENODEV && e.errno() != Errno.EEXIST) {
                                bad.compareAndSet(null, e);
                            }
                        } catch (Throwable e) {
                            bad.compareAndSet(null, e);
                        }
                    }
                });
                workers.add(t);
                t.start();
            }
            Thread.sleep(2);
            fx.unbind(be);
            be.departed = true; // from here on no call may reach it
            gone.add(be);
            Thread.sleep(2);
            stop.set(true);
            for (Thread t : workers) {
                t.join();
            }
            assertEquals("NO_IOMMU", fx.probe("a", 0, 0x1000).fault());
        }
        if (bad.get() != null) {
            throw new AssertionError("seed " + seed, bad.get());
        }
        for (TestBackend be : gone) {
            assertTrue(be.violations.isEmpty(), be.violations.toString());
        }
        assertTrue(ops.get() > 100, "the workers ran: " + ops.get());
    }
}
