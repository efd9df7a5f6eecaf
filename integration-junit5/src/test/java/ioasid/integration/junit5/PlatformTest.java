package ioasid.integration.junit5;

import static ioasid.testkit.osgi.Configs.smmu;
import static ioasid.testkit.osgi.Configs.vtd;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.osgi.framework.Bundle;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.service.ServiceExtension;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.dto.BackendDTO;
import ioasid.api.spi.EventType;
import ioasid.testkit.junit5.IoasidExtension;
import ioasid.testkit.osgi.IoasidEvents;
import ioasid.testkit.osgi.IoasidPlatform;

/**
 * The platform in Felix under JUnit 5: services injected by osgi-test, the platform and event
 * recorders by the test kit's extension, which removes the backends each test configured.
 */
@ExtendWith({ServiceExtension.class, IoasidExtension.class})
class PlatformTest {
    static final String SMMU_DEV = "0000:00:01.0";
    static final String VTD_DEV = "0000:00:02.0";

    @InjectService(filter = IoasidPlatform.OWN_SPACE)
    IoasidService ioasid;
    @InjectService
    IommuService iommu;

    @BeforeEach
    void setUp(IoasidPlatform platform) throws Exception {
        platform.configure(smmu("smmu0", SMMU_DEV + ";sid=0x8;pasid=16"),
                vtd("dmar0", VTD_DEV + ";pasid=20"));
        platform.awaitBackends("smmu0", "dmar0");
    }

    /** A caller's domain on the device, attached, with one page mapped at 0x1000. */
    private IommuDomain mapped(String device, long pa) {
        IommuDomain d = iommu.domainAlloc(device, false);
        iommu.attachGroup(d, iommu.group(device));
        iommu.map(d, 0x1000, pa, 0x1000, Prot.READ);
        return d;
    }

    private long translated(String device) {
        return iommu.translate(device, 0, 0x1000, Access.READ).physAddr();
    }

    @Test
    void allocatesAndAttachesAPasid(IoasidEvents events) {
        IoasidSet vm = ioasid.createSet(TokenType.NONE, "vm-attach", 10);
        IoasidHandle id = ioasid.alloc(vm, 1, 100, null);
        ioasid.attachSpid(id, 101);
        assertEquals(id.id(), ioasid.findBySpid(vm, 101, false).id());

        IommuDomain d = iommu.domainAlloc(VTD_DEV, false);
        IoasidHandle pasid = iommu.allocGlobalPasid(VTD_DEV);
        iommu.attachDevicePasid(d, VTD_DEV, pasid);
        iommu.map(d, 0x10000, 0x7000000, 0x1000, Prot.READ | Prot.WRITE);
        assertEquals(0x7000123, iommu.translate(VTD_DEV, pasid.id(), 0x10123, Access.WRITE)
                .physAddr());
        events.assertInOrder("ALLOC " + id.id(), "ALLOC " + pasid.id(), "BIND " + pasid.id());
        ioasid.free(id);
    }

    @Test
    void aBackendStopsStartsAndUpdates(IoasidPlatform platform) throws Exception {
        mapped(SMMU_DEV, 0x9000);
        IommuDomain mine = mapped(VTD_DEV, 0x5000);
        assertEquals(0x5000, translated(VTD_DEV));
        IoasidHandle pasid = iommu.allocGlobalPasid(VTD_DEV);
        iommu.attachDevicePasid(mine, VTD_DEV, pasid);
        IoasidEvents unbinds = IoasidEvents.record(platform.context(), EventType.UNBIND);
        Bundle vtd = platform.bundle("backend.vtd");
        try {
            vtd.stop();
            platform.awaitGone("dmar0");
            assertEquals("NO_IOMMU", iommu.translate(VTD_DEV, 0, 0x1000, Access.READ).fault());
            assertFalse(mine.live(), "nothing of the VT-d unit is left");
            unbinds.assertOrder("UNBIND " + pasid.id());
            assertEquals(0x9000, translated(SMMU_DEV), "the SMMU goes on");

            vtd.start();
            platform.awaitBackend("dmar0");
            assertFalse(iommu.translate(VTD_DEV, 0, 0x1000, Access.READ).translated(),
                    "back on its default domain, where nothing is mapped");

            BackendDTO after = platform.swap(vtd).get(0);   // leaves once, returns once
            assertEquals("ACTIVE", after.state);
            assertEquals(0x9000, translated(SMMU_DEV), "the SMMU goes on");
            mapped(VTD_DEV, 0x6000);
            assertEquals(0x6000, translated(VTD_DEV), "the new revision serves");
        } finally {
            unbinds.close();
        }
    }
}
