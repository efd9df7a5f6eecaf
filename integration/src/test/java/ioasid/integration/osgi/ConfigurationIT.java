package ioasid.integration.osgi;

import static ioasid.testkit.osgi.IoasidPlatform.await;
import static ioasid.testkit.osgi.IoasidPlatform.hasBackend;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;
import java.util.Dictionary;
import java.util.Hashtable;
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
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.metatype.MetaTypeInformation;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;

import ioasid.api.iommu.IommuService;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/** Backend instances follow their factory configurations: created, updated, deleted. */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class ConfigurationIT {
    @Inject
    BundleContext ctx;

    @Inject
    ConfigurationAdmin ca;

    @Inject
    IommuService iommu;

    @Inject
    MetaTypeService metatype;

    @Configuration
    public Option[] config() {
        return new Option[] {IoasidOptions.platform(), IoasidOptions.backends()};
    }

    private List<String> devices(String backend) {
        return List.of(IoasidPlatform.backend(iommu, backend).devices);
    }

    @Test
    public void creatingAConfigurationAddsAnInstance() throws Exception {
        Configs.smmu("smmu7", "a7;sid=0x70;pasid=8").create(ca);
        await("smmu7", () -> hasBackend(iommu, "smmu7"));
        assertEquals(List.of("a7"), devices("smmu7"));
        assertEquals("smmuv3", IoasidPlatform.backend(iommu, "smmu7").vendor);
        assertEquals(256, iommu.maxPasids("a7"));
    }

    @Test
    public void updatingTheDeviceListReconfiguresInPlace() throws Exception {
        org.osgi.service.cm.Configuration c = Configs.vtd("dmar7", "0000:07:00.0;pasid=20")
                .nesting(true).create(ca);
        await("dmar7", () -> hasBackend(iommu, "dmar7"));
        long service = IoasidPlatform.backend(iommu, "dmar7").serviceId;
        Dictionary<String, Object> p = c.getProperties();
        p.put("devices", new String[] {"0000:07:00.0;pasid=20", "0000:08:00.0;pasid=20"});
        c.update(p);
        await("the new device", () -> devices("dmar7").size() == 2);
        assertEquals("reconfigured, not restarted", service,
                IoasidPlatform.backend(iommu, "dmar7").serviceId);
        assertNotNull(iommu.group("0000:08:00.0"));
        p.put("devices", new String[] {"0000:08:00.0;pasid=20"});
        c.update(p);
        await("the removed device to go", () -> devices("dmar7").equals(List.of("0000:08:00.0")));
        assertTrue(Arrays.stream(iommu.devices()).noneMatch(d -> d.name.equals("0000:07:00.0")));
    }

    @Test
    public void deletingTheConfigurationRemovesTheInstance() throws Exception {
        org.osgi.service.cm.Configuration c = Configs.virtio("vio7", "ep7;sid=0x7").create(ca);
        await("vio7", () -> hasBackend(iommu, "vio7"));
        c.delete();
        await("vio7 to go", () -> !hasBackend(iommu, "vio7"));
        assertEquals("its devices are blocked (D17)", "NO_IOMMU",
                iommu.translate("ep7", 0, 0, ioasid.api.iommu.Access.READ).fault());
    }

    @Test
    public void aBadDeviceListServesNothingUntilFixed() throws Exception {
        org.osgi.service.cm.Configuration c = Configs.smmu("smmu8", "dev;color=red").create(ca);
        // listed as FAILED with the reason (it used to be absent, and SCR showed a stack trace)
        await("smmu8 FAILED", () -> hasBackend(iommu, "smmu8")
                && "FAILED".equals(IoasidPlatform.backend(iommu, "smmu8").state));
        assertTrue(IoasidPlatform.backend(iommu, "smmu8").problem.contains("color"));
        assertEquals(0, IoasidPlatform.backend(iommu, "smmu8").devices.length);
        Dictionary<String, Object> p = new Hashtable<>();
        p.put("ioasid.iommu.name", "smmu8");
        p.put("devices", new String[] {"dev;sid=0x1"});
        c.update(p);
        await("smmu8 once fixed", () -> "ACTIVE".equals(IoasidPlatform.backend(iommu, "smmu8")
                .state));
        assertEquals(List.of("dev"), devices("smmu8"));
    }

    @Test
    public void everyBackendDescribesItsConfigurationWithMetatype() {
        for (String[] b : new String[][] {{"backend.smmuv3", "ioasid.backend.smmuv3"},
                {"backend.vtd", "ioasid.backend.vtd"}, {"backend.virtio", "ioasid.backend.virtio"}}) {
            Bundle bundle = IoasidPlatform.bundle(ctx, b[0]);
            MetaTypeInformation info = metatype.getMetaTypeInformation(bundle);
            assertTrue(b[0], Arrays.asList(info.getFactoryPids()).contains(b[1]));
            ObjectClassDefinition ocd = info.getObjectClassDefinition(b[1], null);
            assertTrue(b[0] + " describes its devices", Arrays.stream(
                    ocd.getAttributeDefinitions(ObjectClassDefinition.ALL))
                    .anyMatch(a -> a.getID().equals("devices")));
        }
    }
}
