package org.example.mockiommu;

import static ioasid.testkit.osgi.Configs.backend;
import static ioasid.testkit.osgi.Configs.smmu;
import static ioasid.testkit.paxexam.IoasidOptions.backends;
import static ioasid.testkit.paxexam.IoasidOptions.bundleOf;
import static ioasid.testkit.paxexam.IoasidOptions.platform;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.options;

import java.util.List;

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
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

import ioasid.api.IoasidHandle;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.dto.BackendDTO;
import ioasid.api.spi.EventType;
import ioasid.testkit.osgi.IoasidEvents;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * The mock IOMMU in Felix with the platform and a real SMMUv3 beside it: a PASID attached on the
 * mock, and the mock's bundle stopped, started and updated while the SMMUv3 goes on serving.
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class MockIommuIT {
    static final String SMMU_DEV = "0000:00:01.0";
    static final String MOCK_DEV = "mock:0";
    static final String MOCK_DEVICES = MOCK_DEV + ";pasid=20";

    @Inject BundleContext context;
    IoasidPlatform platform;

    @Configuration public Option[] config() {
        return options(platform(), backends(), bundleOf(MockIommu.class));
    }

    @Before public void setUp() throws Exception {
        platform = IoasidPlatform.ready(context);
        platform.configure(smmu("smmu0", SMMU_DEV), backend(MockIommu.PID, "mock0", MOCK_DEVICES));
        platform.awaitBackends("smmu0", "mock0");
    }

    /** A caller's domain on the device, attached, with one page mapped at 0x1000. */
    private IommuDomain mapped(String device, long pa) {
        IommuService iommu = platform.iommu();
        IommuDomain d = iommu.domainAlloc(device, false);
        iommu.attachGroup(d, iommu.group(device));
        iommu.map(d, 0x1000, pa, 0x1000, Prot.READ);
        return d;
    }

    private long translated(String device) {
        return platform.iommu().translate(device, 0, 0x1000, Access.READ).physAddr();
    }

    @Test
    public void aPasidAttachedOnTheMockTranslatesAndItsUnmapIsInvalidated() {
        IommuService iommu = platform.iommu();
        IoasidEvents events = IoasidEvents.record(context);
        IommuDomain d = iommu.domainAlloc(MOCK_DEV, false);
        IoasidHandle pasid = iommu.allocGlobalPasid(MOCK_DEV);
        iommu.attachDevicePasid(d, MOCK_DEV, pasid);
        iommu.map(d, 0x10000, 0x7000000, 0x1000, Prot.READ | Prot.WRITE);

        assertEquals(0x7000123, iommu.translate(MOCK_DEV, pasid.id(), 0x10123, Access.WRITE)
                .physAddr());
        events.assertOrder("ALLOC " + pasid.id(), "BIND " + pasid.id());
        assertEquals(0x1000, iommu.unmap(d, 0x10000, 0x1000));
        assertEquals("UNMAPPED", iommu.translate(MOCK_DEV, pasid.id(), 0x10123, Access.READ)
                .fault());
        List<String> log = List.of(iommu.commandLog("mock0", 10));
        assertTrue(log.toString(), log.stream().anyMatch(l -> l.startsWith("SET_PASID " + MOCK_DEV
                + " " + pasid.id() + " ")));
        assertTrue("the unmap was invalidated: " + log, log.get(log.size() - 1)
                .startsWith("INV_IOVA "));
    }

    @Test
    public void theMockStopsStartsAndUpdatesBesideTheSmmu() throws Exception {
        mapped(SMMU_DEV, 0x9000);
        IommuDomain mine = mapped(MOCK_DEV, 0x5000);
        assertEquals(0x5000, translated(MOCK_DEV));
        IoasidHandle pasid = platform.iommu().allocGlobalPasid(MOCK_DEV);
        platform.iommu().attachDevicePasid(mine, MOCK_DEV, pasid);
        IoasidEvents unbinds = IoasidEvents.record(context, EventType.UNBIND);
        Bundle mock = platform.bundle("mock-backend");

        mock.stop();
        platform.awaitGone("mock0");
        assertEquals("NO_IOMMU", platform.iommu().translate(MOCK_DEV, 0, 0x1000, Access.READ)
                .fault());
        assertFalse("nothing of the mock is left", mine.live());
        unbinds.assertOrder("UNBIND " + pasid.id());
        assertEquals("the SMMU goes on", 0x9000, translated(SMMU_DEV));

        mock.start();
        platform.awaitBackend("mock0");
        assertEquals("back on its default domain", "UNMAPPED", platform.iommu()
                .translate(MOCK_DEV, 0, 0x1000, Access.READ).fault());

        List<BackendDTO> after = platform.swap(mock); // update from the same jar
        assertEquals("ACTIVE", after.get(0).state);
        assertEquals("the SMMU goes on", 0x9000, translated(SMMU_DEV));
        mapped(MOCK_DEV, 0x6000);
        assertEquals("the new revision serves", 0x6000, translated(MOCK_DEV));
    }
}
