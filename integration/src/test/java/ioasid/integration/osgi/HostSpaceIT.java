package ioasid.integration.osgi;

import static ioasid.testkit.osgi.IoasidPlatform.await;
import static ioasid.testkit.osgi.IoasidPlatform.backend;
import static ioasid.testkit.osgi.IoasidPlatform.hasBackend;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.TokenType;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.Prot;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidAllocator;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidEvents;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.osgi.VtdConfig;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * A host IOASID space (PID {@code ioasid.host}) coming and going touches only the IOMMU instances
 * that allocate from it: a VT-d unit with virtual commands is rebuilt around it, a virtio-iommu
 * with a host-shared allocator takes it and lets it go; every other instance keeps its service,
 * its domains and its PASIDs, and sends no UNBIND.
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class HostSpaceIT {
    static final String VTD_DEV = "0000:01:00.0";
    static final String GUEST_DEV = "0000:02:00.0";
    static final String VIRTIO_DEV = "ep1";
    static final String HOST_FILTER = IoasidPlatform.HOST_SPACE;
    /** How long an instance must stay as it was once the host has settled. */
    static final long SETTLE_MS = 300;

    @Inject
    BundleContext ctx;

    @Inject
    ConfigurationAdmin ca;

    @Inject
    @Filter(IoasidPlatform.OWN_SPACE)
    IoasidService ioasid;

    @Inject
    IommuService iommu;

    private IoasidEvents unbinds;

    @Configuration
    public Option[] config() {
        return new Option[] {IoasidOptions.platform(), IoasidOptions.backends()};
    }

    private void recordUnbinds() {
        unbinds = IoasidEvents.record(ctx, EventType.UNBIND);
    }

    /** A VT-d vIOMMU that allocates its PASIDs through virtual commands. */
    private VtdConfig vcmdUnit(String name, String device) {
        return Configs.vtd(name, device + ";pasid=20").cachingMode(true).vcmd(true)
                .vcmdVm("vm0");
    }

    /** A caller domain on the device with one page mapped at 0x1000, returned live. */
    private IommuDomain mapped(String device, long pa) {
        IommuDomain d = iommu.domainAlloc(device, false);
        iommu.attachGroup(d, iommu.group(device));
        iommu.map(d, 0x1000, pa, 0x1000, Prot.READ);
        assertEquals(pa, iommu.translate(device, 0, 0x1000, Access.READ).physAddr());
        return d;
    }

    /** A global PASID attached to a fresh domain of the device. */
    private IoasidHandle attachedPasid(String device) {
        IoasidHandle pasid = iommu.allocGlobalPasid(device);
        iommu.attachDevicePasid(iommu.domainAlloc(device, false), device, pasid);
        assertTrue(attached(device, pasid));
        return pasid;
    }

    private boolean attached(String device, IoasidHandle pasid) {
        return Arrays.stream(iommu.pasids())
                .anyMatch(p -> p.device.equals(device) && p.pasid == pasid.id());
    }

    private Map<String, Long> serviceIds(String... names) {
        Map<String, Long> ids = new HashMap<>();
        for (String n : names) {
            ids.put(n, backend(iommu, n).serviceId);
        }
        return ids;
    }

    private void awaitRebuilt(String name, long before) {
        await(name + " rebuilt", () -> hasBackend(iommu, name)
                && backend(iommu, name).serviceId != before);
    }

    /** The instances keep their services for a while after the host settled. */
    private void assertUntouched(Map<String, Long> ids) throws InterruptedException {
        long end = System.nanoTime() + SETTLE_MS * 1_000_000;
        do {
            assertEquals("same backend services", ids,
                    serviceIds(ids.keySet().toArray(new String[0])));
            Thread.sleep(20);
        } while (System.nanoTime() < end);
    }

    private boolean hostSpaceRegistered() {
        try {
            return !ctx.getServiceReferences(IoasidService.class, HOST_FILTER).isEmpty();
        } catch (InvalidSyntaxException e) {
            throw new AssertionError(e);
        }
    }

    private boolean hasSet(IoasidService space, String token) {
        try {
            space.findSet(TokenType.NONE, token);
            return true;
        } catch (IoasidException e) {
            return false;
        }
    }

    private IoasidAllocator allocatorOf(String instance) throws Exception {
        ServiceReference<IoasidAllocator> ref = ctx.getServiceReferences(IoasidAllocator.class,
                "(ioasid.iommu.name=" + instance + ")").iterator().next();
        return ctx.getService(ref);
    }

    @Test
    public void hostComingAndGoingTouchesOnlyItsUsers() throws Exception {
        recordUnbinds();
        Configs.vtd("dmar0", VTD_DEV + ";pasid=20").nesting(true).create(ca);
        Configs.virtio("viommu0", VIRTIO_DEV + ";sid=0x1").create(ca);
        await("dmar0 and viommu0", () -> hasBackend(iommu, "dmar0")
                && hasBackend(iommu, "viommu0"));
        IommuDomain vtdDom = mapped(VTD_DEV, 0x5000);
        IommuDomain virtioDom = mapped(VIRTIO_DEV, 0x7000);
        // from the default space, before any guest allocator: a host leaving revokes nothing here
        IoasidHandle pasid = attachedPasid(VTD_DEV);
        vcmdUnit("dmar-g0", GUEST_DEV).create(ca);
        Configs.virtio("viommu-h", "ep2;sid=0x1").pasidAllocator("host-shared")
                .hostTarget(HOST_FILTER).create(ca);
        await("four backends", () -> iommu.backends().length == 4);
        IoasidHandle guestPasid = attachedPasid(GUEST_DEV);
        // the guest allocators wait behind the default space, which holds dmar0's PASID, so the
        // host-shared one is asked directly where its host went
        IoasidAllocator shared = allocatorOf("viommu-h");
        assertEquals("no host yet", Ioasid.INVALID, shared.alloc(1, 0xFFFFF));
        Map<String, Long> untouched = serviceIds("dmar0", "viommu0", "viommu-h");
        long guest = backend(iommu, "dmar-g0").serviceId;

        org.osgi.service.cm.Configuration host = Configs.host().create(ca);
        IoasidService space = IoasidPlatform.hostSpace(ctx);
        awaitRebuilt("dmar-g0", guest);
        assertTrue("the VCMD unit answers from the host", hasSet(space, "vcmd:vm0"));
        await("the VCMD unit's PASID detached by its rebuild",
                () -> unbinds.contains("UNBIND " + guestPasid.id()));
        // SCR binds the host to viommu-h on the registering thread while this one may already
        // see the service (and dmar-g0 rebuilt): the channel gets its host a moment later
        int[] granted = {Ioasid.INVALID};
        await("the host-shared allocator reaching the host",
                () -> (granted[0] = shared.alloc(1, 0xFFFFF)) != Ioasid.INVALID);
        int id = granted[0];
        assertEquals(1, space.findSet(TokenType.NONE, "vm").size());
        shared.free(id);
        assertUntouched(untouched);
        assertEquals(List.of("UNBIND " + guestPasid.id()), unbinds.lines());
        assertTrue(attached(VTD_DEV, pasid));
        assertTrue(vtdDom.live() && virtioDom.live());

        guest = backend(iommu, "dmar-g0").serviceId;
        host.delete();
        await("the host space to leave", () -> !hostSpaceRegistered());
        awaitRebuilt("dmar-g0", guest);
        assertEquals("the host-shared allocator let the host go", Ioasid.INVALID,
                shared.alloc(1, 0xFFFFF));
        assertUntouched(untouched);
        assertEquals("nothing else unbound", List.of("UNBIND " + guestPasid.id()),
                unbinds.lines());
        assertTrue(attached(VTD_DEV, pasid));
        assertEquals(0x5000, iommu.translate(VTD_DEV, 0, 0x1000, Access.READ).physAddr());
        assertEquals(0x7000, iommu.translate(VIRTIO_DEV, 0, 0x1000, Access.READ).physAddr());
    }

    @Test
    public void copiedTargetsAndOtherHostsLeaveInstancesAlone() throws Exception {
        recordUnbinds();
        // a host line copied onto instances that do not allocate from a host: the VT-d unit
        // binds nothing, the virtio-iommu binds it (dynamically) and has no use for it
        Configs.vtd("dmar0", VTD_DEV + ";pasid=20").hostTarget(HOST_FILTER).create(ca);
        Configs.virtio("viommu0", VIRTIO_DEV + ";sid=0x1").hostTarget(HOST_FILTER).create(ca);
        // a VCMD unit keeps its own target: another host than this one
        vcmdUnit("dmar-g1", GUEST_DEV).hostTarget("(ioasid.host.name=other)").create(ca);
        await("three backends", () -> iommu.backends().length == 3);
        IoasidHandle pasid = attachedPasid(VTD_DEV);
        IoasidHandle guestPasid = attachedPasid(GUEST_DEV);
        Map<String, Long> untouched = serviceIds("dmar0", "viommu0", "dmar-g1");

        org.osgi.service.cm.Configuration host = Configs.host().create(ca);
        IoasidService space = IoasidPlatform.hostSpace(ctx);
        assertUntouched(untouched);
        assertFalse("dmar-g1 answers from its own VMM", hasSet(space, "vcmd:vm0"));
        host.delete();
        await("the host space to leave", () -> !hostSpaceRegistered());
        assertUntouched(untouched);
        assertEquals(List.of(), unbinds.lines());
        assertTrue(attached(VTD_DEV, pasid) && attached(GUEST_DEV, guestPasid));
    }
}
