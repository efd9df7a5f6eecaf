package ioasid.integration.osgi;

import static ioasid.integration.osgi.FrameworkFixture.await;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.ExamFactory;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.dto.BackendDTO;

/**
 * An operator's mistakes in a backend's configuration: a value outside its Metatype range, of
 * the wrong type, or a device list the hardware cannot take. A new instance comes up FAILED with
 * the reason, listed by the IOMMU core; a running one keeps its configuration and says why; a
 * mended configuration starts the FAILED one. SCR never sees an activation fail (that is what
 * printed a stack trace).
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class ConfigurationErrorsIT {
    @Inject
    ConfigurationAdmin ca;

    @Inject
    IommuService iommu;

    @Inject
    ServiceComponentRuntime scr;

    @Configuration
    public Option[] config() {
        return new Option[] {Platform.withBackends()};
    }

    private BackendDTO awaitBackend(String name, String state) {
        await(name + " " + state, () -> Arrays.stream(iommu.backends())
                .anyMatch(b -> b.name.equals(name) && state.equals(b.state)));
        return FrameworkFixture.backend(iommu, name);
    }

    /** No configuration of a backend component ended in a failed activation. */
    private void noFailedActivation() {
        List<String> failed = new ArrayList<>();
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
            for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                if (c.state == ComponentConfigurationDTO.FAILED_ACTIVATION) {
                    failed.add(d.name + ": " + c.failure);
                }
            }
        }
        assertEquals(List.of(), failed);
    }

    @Test
    public void aValueOutsideItsRangeFailsTheNewInstanceWithTheReason() throws Exception {
        FrameworkFixture.factory(ca, "ioasid.backend.vtd", "dmar9", "ioasid.iommu.name",
                "dmar9", "devices", new String[] {"0000:00:04.0"}, "pss", 99);
        BackendDTO b = awaitBackend("dmar9", "FAILED");
        assertEquals("pss=99 is not in [0, 19]", b.problem);
        assertArrayEquals(new String[0], b.devices);
        noFailedActivation();
    }

    @Test
    public void aValueOfTheWrongTypeFailsTheNewInstanceWithTheReason() throws Exception {
        FrameworkFixture.factory(ca, "ioasid.backend.smmuv3", "smmu9", "ioasid.iommu.name",
                "smmu9", "devices", new String[] {"ep;sid=0x9"}, "ssid.bits", "sixteen");
        assertEquals("ssid.bits=sixteen is not an Integer",
                awaitBackend("smmu9", "FAILED").problem);
        noFailedActivation();
    }

    @Test
    public void aDeviceListedTwiceFailsTheNewInstanceWithTheReason() throws Exception {
        FrameworkFixture.factory(ca, "ioasid.backend.virtio", "viommu9", "ioasid.iommu.name",
                "viommu9", "devices", new String[] {"ep1;sid=0x1", "ep1;sid=0x2"});
        String problem = awaitBackend("viommu9", "FAILED").problem;
        assertTrue(problem, problem.contains("ep1"));
        noFailedActivation();
    }

    @Test
    public void aRefusedEditKeepsTheRunningInstanceAndAMendedOneStartsAFailedInstance()
            throws Exception {
        org.osgi.service.cm.Configuration c = FrameworkFixture.smmu(ca, "smmu0",
                "0000:00:01.0;sid=0x8");
        BackendDTO before = awaitBackend("smmu0", "ACTIVE");
        FrameworkFixture.factory(ca, "ioasid.backend.smmuv3", "smmu0", "ioasid.iommu.name",
                "smmu0", "devices", new String[] {"0000:00:01.0;sid=0x8", "x;sid=0x8"});
        await("the refusal", () -> FrameworkFixture.backend(iommu, "smmu0").problem != null);
        BackendDTO after = FrameworkFixture.backend(iommu, "smmu0");
        assertEquals("ACTIVE", after.state);
        assertEquals(before.serviceId, after.serviceId);
        assertArrayEquals(new String[] {"0000:00:01.0"}, after.devices);

        FrameworkFixture.factory(ca, "ioasid.backend.smmuv3", "smmu0", "ioasid.iommu.name",
                "smmu0", "devices", new String[] {"0000:00:01.0;sid=0x8", "x;sid=0x9"});
        await("the accepted change", () -> FrameworkFixture.backend(iommu, "smmu0").devices
                .length == 2);
        assertNull(FrameworkFixture.backend(iommu, "smmu0").problem);

        FrameworkFixture.factory(ca, "ioasid.backend.vtd", "dmar9", "ioasid.iommu.name",
                "dmar9", "devices", new String[] {"0000:00:04.0"}, "pss", 99);
        awaitBackend("dmar9", "FAILED");
        FrameworkFixture.factory(ca, "ioasid.backend.vtd", "dmar9", "ioasid.iommu.name",
                "dmar9", "devices", new String[] {"0000:00:04.0"}, "pss", 7);
        BackendDTO mended = awaitBackend("dmar9", "ACTIVE");
        assertArrayEquals(new String[] {"0000:00:04.0"}, mended.devices);
        assertEquals(256, mended.maxPasids);
        noFailedActivation();
        c.delete();
    }

    @Test
    public void anUnknownKeyIsIgnoredAndTheInstanceServes() throws Exception {
        FrameworkFixture.factory(ca, "ioasid.backend.virtio", "viommu8", "ioasid.iommu.name",
                "viommu8", "devices", new String[] {"ep8;sid=0x8"}, "devics",
                new String[] {"typo"});
        BackendDTO b = awaitBackend("viommu8", "ACTIVE");
        assertArrayEquals(new String[] {"ep8"}, b.devices);
        noFailedActivation();
    }
}
