package ioasid.integration.osgi;

import static ioasid.testkit.osgi.IoasidPlatform.await;
import static ioasid.testkit.osgi.IoasidPlatform.hasBackend;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.composite;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import javax.inject.Inject;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.ExamFactory;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.ops4j.pax.exam.util.Filter;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.Ioasid;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.dto.IoasidDTO;
import ioasid.api.iommu.IommuService;
import ioasid.api.spi.IoasidAllocator;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.osgi.Shell;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * The live migration of a set (decision D36) in a real framework: a guest's set moves from the
 * platform's IOASID space to a host space by the console's scripted flow, while a VT-d unit
 * allocates and frees PASIDs in that host space through virtual commands. Every SPID survives,
 * no ID is in two sets, and the VCMD guest never fails nor sees one of its IDs taken.
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class MigrationIT {
    static final String GUEST_DEV = "0000:02:00.0";
    static final int MEMBERS = 600;

    @Inject
    BundleContext ctx;

    @Inject
    ConfigurationAdmin ca;

    @Inject
    @Filter(IoasidPlatform.OWN_SPACE)
    IoasidService ioasid;

    @Inject
    IommuService iommu;

    @Inject
    CommandProcessor processor;

    @Configuration
    public Option[] config() {
        return new Option[] {composite(IoasidOptions.platform(), IoasidOptions.backends(),
                IoasidOptions.shell())};
    }

    /** The VT-d unit's VCMD allocator service. */
    private IoasidAllocator vcmdAllocatorOf(String instance) throws Exception {
        ServiceReference<IoasidAllocator> ref = ctx.getServiceReferences(IoasidAllocator.class,
                "(" + IoasidAllocator.NAME + "=VT-d VCMD allocator of " + instance + ")")
                .iterator().next();
        return ctx.getService(ref);
    }

    /** Allocates and frees through VCMD until stopped, holding up to 64 PASIDs at a time. */
    private Thread vcmdGuest(IoasidAllocator vcmd, AtomicBoolean stop, Set<Integer> held,
            AtomicInteger ops, AtomicReference<String> failure) {
        Thread t = new Thread(() -> {
            ArrayDeque<Integer> order = new ArrayDeque<>();
            while (!stop.get()) {
                int id = vcmd.alloc(1, Ioasid.MAX_ID);
                if (id == Ioasid.INVALID) {
                    failure.compareAndSet(null, "VCMD allocation failed after " + ops.get());
                    return;
                }
                synchronized (held) {
                    if (!held.add(id)) {
                        failure.compareAndSet(null, "VCMD got " + id + " twice");
                    }
                }
                order.add(id);
                if (order.size() > 64) {
                    int old = order.poll();
                    synchronized (held) {
                        held.remove(old);
                    }
                    vcmd.free(old);
                }
                ops.incrementAndGet();
            }
        }, "vcmd-guest");
        t.start();
        return t;
    }

    @Test
    public void setMovesToAHostSpaceWhileVcmdAllocates() throws Exception {
        // the guest's set in the platform's space, made first: the default allocator holds it, so
        // the VCMD unit's allocator waits there (D4) and allocates in the host space only.
        // SPIDs on two members of three, a few members ACTIVE
        IoasidSet vm1 = ioasid.createSet(TokenType.NONE, "vm1", 1000);
        Map<Integer, Integer> spidOf = new HashMap<>();
        List<IoasidHandle> active = new ArrayList<>();
        for (int i = 0; i < MEMBERS; i++) {
            IoasidHandle h = ioasid.alloc(vm1, 1, Ioasid.MAX_ID, null);
            int spid = h.id();
            if (i % 3 != 0) {
                spid = 200_000 + i;
                ioasid.attachSpid(h, spid);
            }
            spidOf.put(spid, h.id());
            if (i % 50 == 0) {
                ioasid.get(h);
                active.add(h);
            }
        }

        Configs.host().create(ca);
        IoasidService host = IoasidPlatform.hostSpace(ctx);
        Configs.vtd("dmar-g0", GUEST_DEV + ";pasid=20").cachingMode(true).vcmd(true)
                .vcmdVm("vm0").create(ca);
        await("dmar-g0", () -> hasBackend(iommu, "dmar-g0"));
        await("the VCMD unit's set on the host", () -> {
            try {
                host.findSet(TokenType.NONE, "vcmd:vm0");
                return true;
            } catch (RuntimeException e) {
                return false;
            }
        });

        Set<Integer> held = new HashSet<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger ops = new AtomicInteger();
        AtomicReference<String> failure = new AtomicReference<>();
        assertEquals("the default allocator keeps the platform's space", 0,
                java.util.Arrays.stream(ioasid.allocators()).filter(x -> x.state.equals("ACTIVE"))
                        .count());
        Thread guest = vcmdGuest(vcmdAllocatorOf("dmar-g0"), stop, held, ops, failure);
        await("VCMD allocations going on", () -> ops.get() > 100);

        Path file = Files.createTempFile("vm1-", ".set");
        Shell.Result r;
        try {
            r = Shell.script(processor, "f = (ioasid:exportset " + vm1.id() + " " + file + ")\n"
                    + "ioasid:freeset " + vm1.id() + "\n"
                    + "ioasid:importset -l 1 -s host $f\n");
            int after = ops.get();
            await("VCMD allocations going on after the import", () -> ops.get() > after + 100);
        } finally {
            stop.set(true);
            guest.join(10_000);
            Files.deleteIfExists(file);
        }
        assertEquals(null, failure.get());
        assertEquals(r.err(), "", r.err());
        assertEquals(r.summary(), "", r.summary());
        assertTrue(r.out(), r.out().contains("imported into host from " + file + ": " + MEMBERS
                + " IDs"));

        // every SPID survived, each on an ID of the moved set alone
        IoasidSet moved = host.findSet(TokenType.NONE, "vm1");
        assertEquals(MEMBERS, moved.size());
        int kept = 0;
        for (Map.Entry<Integer, Integer> e : spidOf.entrySet()) {
            IoasidHandle h = host.findBySpid(moved, e.getKey(), false);
            assertEquals("IDLE", h.state().name());
            kept += h.id() == e.getValue() ? 1 : 0;
        }
        assertTrue("some IDs were taken on the host by VCMD: " + kept, kept < MEMBERS);
        IoasidSet vcmdSet = host.findSet(TokenType.NONE, "vcmd:vm0");
        Set<Integer> seen = new HashSet<>();
        int inVcmd = 0;
        for (IoasidDTO d : host.ids(null, Integer.MAX_VALUE)) {
            assertTrue("ID " + d.id + " listed twice", seen.add(d.id));
            assertTrue(d.setId == moved.id() || d.setId == vcmdSet.id());
            inVcmd += d.setId == vcmdSet.id() ? 1 : 0;
        }
        synchronized (held) {
            assertEquals("the VCMD guest holds what the host's set holds", held.size(), inVcmd);
            for (int id : held) {
                assertEquals(vcmdSet, host.find(null, id).set());
            }
        }

        // the source: FREE_PENDING while the ACTIVE members' users hold them, then gone
        assertEquals(active.size(), vm1.size());
        assertEquals("FREE_PENDING", vm1.state().name());
        for (IoasidHandle h : active) {
            ioasid.put(h);
        }
        assertEquals("FREED", vm1.state().name());
        assertFalse(java.util.Arrays.stream(ioasid.ids(null, Integer.MAX_VALUE))
                .anyMatch(d -> d.setId == vm1.id()));
    }
}
