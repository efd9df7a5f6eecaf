package ioasid.integration.osgi;

import static ioasid.testkit.osgi.IoasidPlatform.await;
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
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

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
        return new Option[] {IoasidOptions.platform(), IoasidOptions.backends()};
    }

    private BackendDTO awaitBackend(String name, String state) {
        await(name + " " + state, () -> Arrays.stream(iommu.backends())
                .anyMatch(b -> b.name.equals(name) && state.equals(b.state)));
        return IoasidPlatform.backend(iommu, name);
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

    /**
     * Config Admin gets and ungets the checker around each configuration it delivers: one
     * instance stays active throughout, so its Metatype definitions are read once per bundle,
     * not once per configuration.
     */
    @Test
    public void theCheckerStaysOneActiveInstanceAcrossConfigurations() throws Exception {
        Configs.vtd("dmar8", "0000:00:05.0").create(ca);
        Configs.virtio("viommu8", "ep8;sid=0x8").create(ca);
        awaitBackend("dmar8", "ACTIVE");
        awaitBackend("viommu8", "ACTIVE");
        ComponentDescriptionDTO checker = scr.getComponentDescriptionDTOs().stream()
                .filter(d -> d.name.equals("ioasid.core.config.ConfigurationChecker"))
                .findFirst().orElseThrow();
        assertTrue(checker.immediate);
        ComponentConfigurationDTO[] instances = scr.getComponentConfigurationDTOs(checker)
                .toArray(new ComponentConfigurationDTO[0]);
        assertEquals(1, instances.length);
        assertEquals(ComponentConfigurationDTO.ACTIVE, instances[0].state);
    }

    @Test
    public void aValueOutsideItsRangeFailsTheNewInstanceWithTheReason() throws Exception {
        Configs.vtd("dmar9", "0000:00:04.0").pss(99).create(ca);
        BackendDTO b = awaitBackend("dmar9", "FAILED");
        assertEquals("pss=99 is not in [0, 19]", b.problem);
        assertArrayEquals(new String[0], b.devices);
        noFailedActivation();
    }

    @Test
    public void aValueOfTheWrongTypeFailsTheNewInstanceWithTheReason() throws Exception {
        Configs.smmu("smmu9", "ep;sid=0x9").set("ssid.bits", "sixteen").create(ca);
        assertEquals("ssid.bits=sixteen is not an Integer",
                awaitBackend("smmu9", "FAILED").problem);
        noFailedActivation();
    }

    @Test
    public void aDeviceListedTwiceFailsTheNewInstanceWithTheReason() throws Exception {
        Configs.virtio("viommu9", "ep1;sid=0x1", "ep1;sid=0x2").create(ca);
        String problem = awaitBackend("viommu9", "FAILED").problem;
        assertTrue(problem, problem.contains("ep1"));
        noFailedActivation();
    }

    @Test
    public void aRefusedEditKeepsTheRunningInstanceAndAMendedOneStartsAFailedInstance()
            throws Exception {
        org.osgi.service.cm.Configuration c = Configs.smmu("smmu0",
                "0000:00:01.0;sid=0x8").create(ca);
        BackendDTO before = awaitBackend("smmu0", "ACTIVE");
        Configs.smmu("smmu0", "0000:00:01.0;sid=0x8", "x;sid=0x8").create(ca);
        await("the refusal", () -> IoasidPlatform.backend(iommu, "smmu0").problem != null);
        BackendDTO after = IoasidPlatform.backend(iommu, "smmu0");
        assertEquals("ACTIVE", after.state);
        assertEquals(before.serviceId, after.serviceId);
        assertArrayEquals(new String[] {"0000:00:01.0"}, after.devices);

        Configs.smmu("smmu0", "0000:00:01.0;sid=0x8", "x;sid=0x9").create(ca);
        await("the accepted change", () -> IoasidPlatform.backend(iommu, "smmu0").devices
                .length == 2);
        assertNull(IoasidPlatform.backend(iommu, "smmu0").problem);

        Configs.vtd("dmar9", "0000:00:04.0").pss(99).create(ca);
        awaitBackend("dmar9", "FAILED");
        Configs.vtd("dmar9", "0000:00:04.0").pss(7).create(ca);
        BackendDTO mended = awaitBackend("dmar9", "ACTIVE");
        assertArrayEquals(new String[] {"0000:00:04.0"}, mended.devices);
        assertEquals(256, mended.maxPasids);
        noFailedActivation();
        c.delete();
    }

    @Test
    public void anUnknownKeyIsIgnoredAndTheInstanceServes() throws Exception {
        Configs.virtio("viommu8", "ep8;sid=0x8").set("devics", new String[] {"typo"}).create(ca);
        BackendDTO b = awaitBackend("viommu8", "ACTIVE");
        assertArrayEquals(new String[] {"ep8"}, b.devices);
        noFailedActivation();
    }
}
