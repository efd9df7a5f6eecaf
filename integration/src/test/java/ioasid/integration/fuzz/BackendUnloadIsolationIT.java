package ioasid.integration.fuzz;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

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
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuGroup;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.PrivatePasid;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.SvaHandle;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.Viommu;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * Isolation in time, in a real Felix framework: after a backend bundle has been used (domains,
 * mappings, PASIDs, SVA, a private PASID, a vIOMMU with a vDevice), uninstalled and the
 * framework refreshed, nothing holds its classes: a weak reference to its class loader clears.
 * The same for the VT-d bundle as a guest allocator (VCMD, custom IOASID allocator). And no
 * translation reaches a freed domain across a backend bundle's stop and start (known bug 1).
 *
 * <p>The test names no backend class (the probe's {@code DynamicImport-Package: *} would wire
 * it); the backends export nothing anyway.
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class BackendUnloadIsolationIT {
    static final String SMMU_DEV = "0000:00:01.0";
    static final String VTD_DEV = "0000:01:00.0";
    static final String VIRTIO_DEV = "ep1";
    static final long GC_TIMEOUT_MS = 8_000;

    @Inject
    BundleContext ctx;

    @Inject
    ConfigurationAdmin ca;

    @Inject
    @Filter(IoasidPlatform.OWN_SPACE)
    IoasidService ioasid;

    @Inject
    IommuService iommu;

    @Configuration
    public Option[] config() {
        return new Option[] {IoasidOptions.platform(), IoasidOptions.backends()};
    }

    private void allBackends() throws Exception {
        Configs.smmu("smmu0", SMMU_DEV + ";sid=0x8;pasid=16").create(ca);
        Configs.vtd("dmar0", VTD_DEV + ";pasid=20").nesting(true).create(ca);
        Configs.virtio("viommu0", VIRTIO_DEV + ";sid=0x1").create(ca);
        IoasidPlatform.await("three backends", () -> iommu.backends().length == 3);
    }

    /** A process for SVA, a class of the probe (not of any backend). */
    static final class Process implements ProcessAddressSpace {
        @Override
        public long translate(long va, Access access) {
            return va == 0x5000 ? 0x3000000 : -1;
        }

        @Override
        public int asid() {
            return 9;
        }
    }

    /** Uses everything the backend serving {@code dev} offers; returns the handles made. */
    private List<Object> use(String dev) {
        return use(dev, 0xF);
    }

    /** Uses parts of the backend: 1 a mapped caller domain, 2 a PASID, 4 a private PASID, 8 a vIOMMU. */
    private List<Object> use(String dev, int mask) {
        List<Object> made = new ArrayList<>();
        if ((mask & 1) != 0) {
        IommuDomain d = iommu.domainAlloc(dev, false);
        IommuGroup g = iommu.group(dev);
        iommu.attachGroup(d, g);
        iommu.map(d, 0x1000, 0x7000000, 0x2000, Prot.READ | Prot.WRITE);
        assertEquals(0x7000010, iommu.translate(dev, 0, 0x1010, Access.READ).physAddr());
        iommu.unmap(d, 0x2000, 0x1000);
        made.add(d);
        made.add(g);
        }
        if (iommu.maxPasids(dev) > 0 && (mask & 2) != 0) {
            IoasidHandle pasid = iommu.allocGlobalPasid(dev);
            IommuDomain pd = iommu.domainAlloc(dev, false);
            iommu.map(pd, 0x4000, 0x8000000, 0x1000, Prot.READ);
            iommu.attachDevicePasid(pd, dev, pasid);
            assertEquals(0x8000000, iommu.translate(dev, pasid.id(), 0x4000, Access.READ)
                    .physAddr());
            made.addAll(List.of(pasid, pd));
        }
        if (iommu.maxPasids(dev) > 0 && (mask & 4) != 0) {
            PrivatePasid pp = iommu.privatePasidAlloc(dev);
            pp.map(0x10000, 0x9000000, 0x1000, Prot.READ);
            made.add(pp);
        }
        if ((mask & 16) != 0) {
            IommuDomain d = iommu.domainAlloc(dev, false);
            iommu.attachGroup(d, iommu.group(dev));
            made.add(d);
        }
        if ((mask & 32) != 0) {
            IommuDomain d = iommu.domainAlloc(dev, false);
            iommu.map(d, 0x1000, 0x7000000, 0x2000, Prot.READ | Prot.WRITE);
            iommu.translate(dev, 0, 0x1010, Access.READ);
            iommu.unmap(d, 0x2000, 0x1000);
            made.add(d);
        }
        if ((mask & 8) != 0) try {
            IommuDomain parent = iommu.domainAlloc(dev, true);
            Viommu v = iommu.viommuAlloc(dev, parent);
            iommu.vdeviceAlloc(v, dev, 0x21);
            made.addAll(List.of(parent, v));
        } catch (ioasid.api.IoasidException noNesting) {
            assertEquals("EOPNOTSUPP", noNesting.errno().name()); // virtio-iommu cannot nest
        }
        made.add(iommu.commandLog(iommu.group(dev).backend(), 5));
        return made;
    }

    private void refresh(Bundle b) throws InterruptedException {
        FrameworkWiring fw = ctx.getBundle(0).adapt(FrameworkWiring.class);
        CountDownLatch done = new CountDownLatch(1);
        fw.refreshBundles(List.of(b), e -> done.countDown());
        assertTrue("refresh done", done.await(IoasidPlatform.TIMEOUT_MS, TimeUnit.MILLISECONDS));
    }

    /** The bundle's class loader, weakly; the bundle is uninstalled and refreshed. */
    private WeakReference<ClassLoader> uninstall(String bsn) throws Exception {
        Bundle b = IoasidPlatform.bundle(ctx, bsn);
        ClassLoader loader = b.adapt(BundleWiring.class).getClassLoader();
        assertNotNull(loader);
        WeakReference<ClassLoader> ref = new WeakReference<>(loader);
        loader = null;
        b.uninstall();
        refresh(b);
        return ref;
    }

    /** Collects garbage until the reference clears or the timeout passes. */
    private static boolean collected(WeakReference<?> ref) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(GC_TIMEOUT_MS);
        while (ref.get() != null && System.nanoTime() < deadline) {
            System.gc();
            byte[][] pressure = new byte[64][];
            for (int i = 0; i < pressure.length; i++) {
                pressure[i] = new byte[1 << 16];
            }
            Thread.sleep(50);
        }
        return ref.get() == null;
    }

    private void unloadIsolation(String bsn, String backend, String dev) throws Exception {
        unloadIsolation(bsn, backend, dev, Integer.getInteger("ioasid.isolation.use", 0xF));
    }

    private void unloadIsolation(String bsn, String backend, String dev, int mask)
            throws Exception {
        allBackends();
        List<Object> made = use(dev, mask);
        WeakReference<ClassLoader> ref = uninstall(bsn);
        IoasidPlatform.await(backend + " to leave", () -> !IoasidPlatform.hasBackend(iommu, backend));
        assertEquals("NO_IOMMU", iommu.translate(dev, 0, 0x1000, Access.READ).fault());
        for (Object o : made) {
            if (o instanceof IommuDomain d) {
                assertFalse(d + " died with its backend", d.live());
            } else if (o instanceof Viommu v) {
                assertFalse(v.live());
            } else if (o instanceof PrivatePasid p) {
                assertFalse(p.live());
            }
        }
        assertTrue(Arrays.stream(iommu.domains()).noneMatch(x -> x.backend.equals(backend)));
        boolean gone = collected(ref);
        made.clear();
        gone = gone || collected(ref);
        assertTrue(bsn + ": its class loader is still reachable after uninstall and refresh",
                gone);
        // the platform goes on: the other backends still serve their devices
        for (String other : List.of(SMMU_DEV, VTD_DEV, VIRTIO_DEV)) {
            if (!other.equals(dev)) {
                IommuDomain d = iommu.domainAlloc(other, false);
                iommu.attachGroup(d, iommu.group(other));
                iommu.map(d, 0x1000, 0x6000000, 0x1000, Prot.READ);
                assertTrue(iommu.translate(other, 0, 0x1000, Access.READ).translated());
            }
        }
    }

    @Test
    public void smmuv3ClassLoaderIsolation() throws Exception {
        unloadIsolation("backend.smmuv3", "smmu0", SMMU_DEV);
    }

    @Test
    public void vtdClassLoaderIsolation() throws Exception {
        unloadIsolation("backend.vtd", "dmar0", VTD_DEV);
    }

    @Test
    public void virtioClassLoaderIsolation() throws Exception {
        unloadIsolation("backend.virtio", "viommu0", VIRTIO_DEV);
    }

    private long active() {
        return Arrays.stream(ioasid.allocators()).filter(a -> a.state.equals(AllocatorDTO.ACTIVE))
                .count();
    }

    /** A guest VT-d vIOMMU whose VCMD allocator takes the guest's PASIDs from the host space. */
    private IoasidService guestVcmd() throws Exception {
        Configs.host().create(ca);
        IoasidService host = IoasidPlatform.hostSpace(ctx);
        Configs.vtd("dmar-g0", "g0-nic;pasid=20").cachingMode(true).vcmd(true).vcmdVm("vm0")
                .create(ca);
        IoasidPlatform.await("the VCMD allocator", () -> active() == 1);
        return host;
    }

    @Test
    public void vcmdGuestAllocatorClassLoaderIsolation() throws Exception {
        IoasidService host = guestVcmd();
        IoasidSet gset = ioasid.createSet(TokenType.NONE, "guest", 10);
        IoasidHandle a = ioasid.alloc(gset, 1, 0xFFFFF, null);
        IoasidHandle b = ioasid.alloc(gset, 1, 0xFFFFF, null);
        ioasid.attachSpid(b, 7);
        assertEquals(2, host.findSet(TokenType.NONE, "vcmd:vm0").size());
        ioasid.free(a);
        // b is outstanding when the allocator's bundle goes: revoked (D7), and with no
        // reference left, reclaimed at once
        WeakReference<ClassLoader> ref = uninstall("backend.vtd");
        IoasidPlatform.await("the allocator to leave", () -> ioasid.allocators().length == 0);
        assertEquals(IoasidState.FREE, b.state());
        assertTrue(ioasid.idSpaces()[0].active);
        assertTrue("backend.vtd (guest allocator): its class loader is still reachable after "
                + "uninstall and refresh", collected(ref));
        assertEquals(1, ioasid.alloc(gset, 1, 0xFFFFF, null).id());
    }

    @Test
    public void vcmdRevokedButReferencedClassLoaderIsolation() throws Exception {
        guestVcmd();
        IoasidSet gset = ioasid.createSet(TokenType.NONE, "guest", 10);
        IoasidHandle held = ioasid.alloc(gset, 1, 0xFFFFF, null);
        ioasid.get(held); // a device driver still holds it
        WeakReference<ClassLoader> ref = uninstall("backend.vtd");
        IoasidPlatform.await("the allocator to leave", () -> ioasid.allocators().length == 0);
        assertEquals(IoasidState.FREE_PENDING, held.state());
        assertTrue(held.revoked());
        assertTrue("a referenced revoked ID pins the departed bundle's class loader",
                collected(ref));
        ioasid.put(held);
    }

    @Test
    public void freedDomainAcrossBundleRestartIsolation() throws Exception {
        allBackends();
        Set<Integer> freed = new HashSet<>();
        for (String dev : List.of(SMMU_DEV, VTD_DEV, VIRTIO_DEV)) {
            IommuGroup g = iommu.group(dev);
            iommu.claimGroup(g, "vfio");
            IommuDomain d = iommu.domainAlloc(dev, false);
            iommu.attachGroup(d, g);
            iommu.map(d, 0x1000, 0x7000000, 0x1000, Prot.READ);
            assertTrue(iommu.translate(dev, 0, 0x1000, Access.READ).translated());
            iommu.detachGroup(d, g);
            iommu.domainFree(d);
            freed.add(d.id());
        }
        probe(freed);
        for (String bsn : List.of("backend.smmuv3", "backend.vtd", "backend.virtio")) {
            Bundle b = IoasidPlatform.bundle(ctx, bsn);
            b.stop();
            IoasidPlatform.await(bsn + " to leave", () -> iommu.backends().length == 2);
            probe(freed);
            b.start();
            IoasidPlatform.await(bsn + " to return", () -> iommu.backends().length == 3);
            probe(freed);
        }
        for (String dev : List.of(SMMU_DEV, VTD_DEV, VIRTIO_DEV)) {
            Translation t = iommu.translate(dev, 0, 0x1000, Access.READ);
            assertEquals(dev + " owned: back on its blocking domain", Translation.Outcome.FAULT,
                    t.outcome());
        }
    }

    /** Every device, without and with a few PASIDs, both accesses: never a freed domain. */
    private void probe(Set<Integer> freed) {
        Set<Integer> live = new HashSet<>();
        Arrays.stream(iommu.domains()).forEach(x -> live.add(x.id));
        for (String dev : List.of(SMMU_DEV, VTD_DEV, VIRTIO_DEV)) {
            for (int pasid : new int[] {0, 1, 2, 0xFFFF}) {
                for (Access a : Access.values()) {
                    Translation t = iommu.translate(dev, pasid, 0x1000, a);
                    assertFalse(dev + " pasid " + pasid + " reached a freed domain: " + t,
                            freed.contains(t.domainId()));
                    assertTrue(dev + ": " + t, t.domainId() == -1 || live.contains(t.domainId()));
                    assertFalse(t.translated());
                }
            }
        }
        assertNull(null);
    }
}
