package ioasid.integration.osgi;

import static ioasid.testkit.osgi.IoasidPlatform.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntConsumer;

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
import org.osgi.framework.ServiceReference;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.spi.IoasidListener;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.osgi.Journal;
import ioasid.testkit.osgi.TinyBundles;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/** Notifier chains built from listener bundles, ordered by service ranking (rule 80, D12-D15). */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class NotifierChainIT {
    @Inject
    BundleContext ctx;

    @Inject
    @Filter(IoasidPlatform.OWN_SPACE)
    IoasidService ioasid;

    private Journal journal;
    private IoasidSet set;

    @Configuration
    public Option[] config() {
        return new Option[] {IoasidOptions.platform()};
    }

    @Before
    public void journal() {
        journal = Journal.register(ctx);
        set = ioasid.createSet(TokenType.NONE, "vm", 10_000);
    }

    private Bundle listener(String name, int ranking) throws Exception {
        Bundle b = ctx.installBundle("test:" + name, TinyBundles.listener(name, ranking));
        b.start();
        await(name + " to join the chain", () -> java.util.Arrays.stream(ioasid.listeners())
                .anyMatch(l -> l.name.equals(name)));
        return b;
    }

    private List<String> journalOf(String name) {
        return journal.of(name);
    }

    @Test
    public void cpuThenIommuThenDeviceAcrossBundles() throws Exception {
        listener("device", IoasidListener.PRIORITY_DEVICE);
        listener("cpu", IoasidListener.PRIORITY_CPU);
        listener("iommu", IoasidListener.PRIORITY_IOMMU);
        IoasidHandle h = ioasid.alloc(set, 1, 100, null);
        ioasid.free(h);
        assertEquals(List.of("cpu:ALLOC 1", "iommu:ALLOC 1", "device:ALLOC 1",
                "cpu:FREE 1", "iommu:FREE 1", "device:FREE 1"), journal.lines());
    }

    @Test
    public void rankingChangeReordersTheChain() throws Exception {
        listener("cpu", IoasidListener.PRIORITY_CPU);
        listener("device", IoasidListener.PRIORITY_DEVICE);
        ioasid.alloc(set, 1, 100, null);
        ServiceReference<IntConsumer> rerank = ctx.getServiceReferences(IntConsumer.class,
                "(listener.name=device)").iterator().next();
        ctx.getService(rerank).accept(IoasidListener.PRIORITY_CPU + 50);
        await("the new order", () -> ioasid.listeners()[0].name.equals("device"));
        ioasid.alloc(set, 1, 100, null);
        assertEquals(List.of("cpu:ALLOC 1", "device:ALLOC 1", "device:ALLOC 2", "cpu:ALLOC 2"),
                journal.lines());
    }

    @Test
    public void aLateListenerBundleGetsTheStateReplayed() throws Exception {
        IoasidHandle a = ioasid.alloc(set, 1, 100, null);
        ioasid.alloc(set, 1, 100, null);
        ioasid.attachSpid(a, 42);
        listener("late", IoasidListener.PRIORITY_LAST);
        assertEquals(List.of("late:ALLOC* 1", "late:BIND* 1", "late:ALLOC* 2"), journal.lines());
    }

    @Test
    public void aListenerBundleStoppingMidStreamLosesNothingForTheOthers() throws Exception {
        listener("cpu", IoasidListener.PRIORITY_CPU);
        Bundle device = listener("device", IoasidListener.PRIORITY_DEVICE);
        listener("iommu", IoasidListener.PRIORITY_IOMMU);
        AtomicBoolean stop = new AtomicBoolean();
        int[] done = {0};
        Thread load = new Thread(() -> {
            while (!stop.get() && done[0] < 2000) {
                ioasid.free(ioasid.alloc(set, 1, 100, null));
                done[0]++;
            }
        });
        load.start();
        await("the load to run", () -> done[0] > 200);
        device.stop();
        await("the load to finish", () -> done[0] == 2000);
        stop.set(true);
        load.join();
        for (String name : List.of("cpu", "iommu")) {
            List<String> got = journalOf(name);
            assertEquals(name + " got every event", 4000, got.size());
            for (int i = 0; i < got.size(); i += 2) {
                assertEquals(name + ":ALLOC 1", got.get(i));
                assertEquals(name + ":FREE 1", got.get(i + 1));
            }
        }
        List<String> dev = journalOf("device");
        assertTrue("the stopped one got a prefix: " + dev.size(), dev.size() < 4000);
        for (int i = 0; i + 1 < dev.size(); i += 2) {
            assertEquals("no event doubled or reordered", "device:ALLOC 1", dev.get(i));
        }
    }
}
