package ioasid.integration.osgi;

import static ioasid.testkit.osgi.IoasidPlatform.await;
import static ioasid.testkit.osgi.IoasidPlatform.hasBackend;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.InputStream;
import java.util.Arrays;

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
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.spi.EventType;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidEvents;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.osgi.PlatformBundles;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * Vendor backends stopped, updated, uninstalled and reinstalled at runtime while the others keep
 * serving their devices and IDs (D16, D17).
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class HotSwapIT {
    static final String SMMU_DEV = "0000:00:01.0";
    static final String VTD_DEV = "0000:01:00.0";
    static final String VIRTIO_DEV = "ep1";

    @Inject
    BundleContext ctx;

    @Inject
    ConfigurationAdmin ca;

    @Inject
    @Filter(IoasidPlatform.OWN_SPACE)
    IoasidService ioasid;

    @Inject
    IommuService iommu;

    private IoasidEvents events;

    @Configuration
    public Option[] config() {
        return new Option[] {IoasidOptions.platform(), IoasidOptions.backends()};
    }

    @Before
    public void configure() throws Exception {
        Configs.smmu("smmu0", SMMU_DEV + ";sid=0x8;pasid=16").create(ca);
        Configs.vtd("dmar0", VTD_DEV + ";pasid=20").nesting(true).create(ca);
        Configs.virtio("viommu0", VIRTIO_DEV + ";sid=0x1").create(ca);
        await("three backends", () -> iommu.backends().length == 3);
        events = IoasidEvents.record(ctx, EventType.BIND, EventType.UNBIND);
    }

    /** A caller domain on the device with one page mapped at 0x1000, returned live. */
    private IommuDomain mapped(String device, long pa) {
        IommuDomain d = iommu.domainAlloc(device, false);
        iommu.attachGroup(d, iommu.group(device));
        iommu.map(d, 0x1000, pa, 0x1000, Prot.READ);
        assertEquals(pa, iommu.translate(device, 0, 0x1000, Access.READ).physAddr());
        return d;
    }

    private GroupDTO group(String device) {
        int id = iommu.group(device).id();
        return Arrays.stream(iommu.groups()).filter(g -> g.id == id).findFirst().orElseThrow();
    }

    /** D17 for a backend that left: blocked, nothing of it left, the others untouched. */
    private void assertGone(String backend, String device, IommuDomain dead, String other,
            long otherPa) {
        await(backend + " to leave", () -> !hasBackend(iommu, backend));
        assertEquals("NO_IOMMU", iommu.translate(device, 0, 0x1000, Access.READ).fault());
        assertTrue(group(device).blocked);
        assertFalse(dead.live());
        assertTrue(Arrays.stream(iommu.domains()).noneMatch(d -> d.backend.equals(backend)));
        try {
            iommu.commandLog(backend, 1);
            throw new AssertionError("the departed backend still answers");
        } catch (IoasidException expected) {
            assertEquals("ENODEV", expected.errno().name());
        }
        assertEquals("the other backends keep serving", otherPa,
                iommu.translate(other, 0, 0x1000, Access.READ).physAddr());
    }

    private void assertBack(String backend, String device) {
        await(backend + " to return", () -> hasBackend(iommu, backend));
        GroupDTO g = group(device);
        assertFalse(g.blocked);
        assertEquals("on its default domain again", g.defaultDomainId, g.domainId);
    }

    @Test
    public void stoppingOneBackendKeepsTheOthersAndSendsUnbind() throws Exception {
        IommuDomain vtdDom = mapped(VTD_DEV, 0x5000);
        mapped(SMMU_DEV, 0x9000);
        IoasidHandle pasid = iommu.allocGlobalPasid(VTD_DEV);
        iommu.attachDevicePasid(iommu.domainAlloc(VTD_DEV, false), VTD_DEV, pasid);
        IoasidSet s = ioasid.createSet(TokenType.NONE, "tenant", 10);
        IoasidHandle unrelated = ioasid.alloc(s, 1, 0xFFFFF, null);
        Bundle vtd = IoasidPlatform.bundle(ctx, "backend.vtd");
        vtd.stop();
        assertGone("dmar0", VTD_DEV, vtdDom, SMMU_DEV, 0x9000);
        assertTrue("UNBIND for the PASID the backend had", events.contains("UNBIND " + pasid.id()));
        assertEquals(1, pasid.refCount());
        assertEquals(IoasidState.IDLE, unrelated.state());
        vtd.start();
        assertBack("dmar0", VTD_DEV);
    }

    @Test
    public void updatingABackendBringsItsNewRevisionUp() throws Exception {
        IommuDomain smmuDom = mapped(SMMU_DEV, 0x9000);
        mapped(VIRTIO_DEV, 0x7000);
        Bundle smmu = IoasidPlatform.bundle(ctx, "backend.smmuv3");
        long before = IoasidPlatform.backend(iommu, "smmu0").serviceId;
        try (InputStream in = PlatformBundles.open("backend.smmuv3")) {
            smmu.update(in);
        }
        IoasidPlatform.refresh(ctx, smmu);
        await("the new revision's backend", () -> hasBackend(iommu, "smmu0")
                && IoasidPlatform.backend(iommu, "smmu0").serviceId != before);
        assertFalse("nothing of the old revision is reachable", smmuDom.live());
        assertBack("smmu0", SMMU_DEV);
        assertEquals(0x7000, iommu.translate(VIRTIO_DEV, 0, 0x1000, Access.READ).physAddr());
    }

    private void uninstallAndReinstall(String bsn, String backend, String device, String other,
            long otherPa) throws Exception {
        IommuDomain dom = mapped(device, 0x3000);
        Bundle b = IoasidPlatform.bundle(ctx, bsn);
        b.uninstall();
        IoasidPlatform.refresh(ctx, b);
        assertGone(backend, device, dom, other, otherPa);
        Bundle again = ctx.installBundle(PlatformBundles.location(bsn));
        again.start();
        assertBack(backend, device);
        IommuDomain fresh = mapped(device, 0x4000);
        assertTrue(fresh.live());
    }

    @Test
    public void smmuv3UninstalledAndReinstalled() throws Exception {
        mapped(VTD_DEV, 0x5000);
        uninstallAndReinstall("backend.smmuv3", "smmu0", SMMU_DEV, VTD_DEV, 0x5000);
    }

    @Test
    public void vtdUninstalledAndReinstalled() throws Exception {
        mapped(VIRTIO_DEV, 0x6000);
        uninstallAndReinstall("backend.vtd", "dmar0", VTD_DEV, VIRTIO_DEV, 0x6000);
    }

    @Test
    public void virtioUninstalledAndReinstalled() throws Exception {
        mapped(SMMU_DEV, 0x8000);
        uninstallAndReinstall("backend.virtio", "viommu0", VIRTIO_DEV, SMMU_DEV, 0x8000);
    }

    @Test
    public void ownedGroupWaitsOnItsBlockingDomain() throws Exception {
        iommu.claimGroup(iommu.group(SMMU_DEV), "vfio");
        Bundle smmu = IoasidPlatform.bundle(ctx, "backend.smmuv3");
        smmu.stop();
        await("smmu0 to leave", () -> !hasBackend(iommu, "smmu0"));
        assertEquals("vfio", group(SMMU_DEV).owner);
        smmu.start();
        await("smmu0 to return", () -> hasBackend(iommu, "smmu0"));
        GroupDTO g = group(SMMU_DEV);
        assertEquals("an owned group returns to its blocking domain", g.blockingDomainId,
                g.domainId);
        assertEquals("BLOCKED", g.domainType);
    }
}
