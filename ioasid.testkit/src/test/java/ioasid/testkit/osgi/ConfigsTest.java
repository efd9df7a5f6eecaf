package ioasid.testkit.osgi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The properties the typed configurations produce, as Config Admin will store them. */
class ConfigsTest {
    @Test
    void aBackendNamesItsInstanceAndDevicesAndTheConfigurationAfterIt() {
        SmmuConfig c = Configs.smmu("smmu0", "0000:00:01.0;sid=0x8", "ep;pasid=16");
        assertEquals("ioasid.backend.smmuv3", c.factoryPid());
        assertEquals("smmu0", c.name());
        assertEquals(List.of("ioasid.iommu.name", "devices"), List.copyOf(c.properties().keySet()));
        assertEquals("smmu0", c.properties().get("ioasid.iommu.name"));
        assertArrayEquals(new String[] {"0000:00:01.0;sid=0x8", "ep;pasid=16"},
                (String[]) c.properties().get("devices"));
    }

    @Test
    void typedSettersUseTheMetatypeNamesAndConfigAdminTypes() {
        Map<String, Object> smmu = Configs.smmu("s").ssidBits(8).tableMemoryKib(128)
                .nesting(false).commandLogSize(16).properties();
        assertEquals(8, smmu.get("ssid.bits"));
        assertEquals(128L, smmu.get("table.memory.kib"));
        assertEquals(Boolean.FALSE, smmu.get("nesting"));
        assertEquals(16, smmu.get("command.log.size"));

        Map<String, Object> vtd = Configs.vtd("dmar-g0", "nic;pasid=20").cachingMode(true)
                .vcmd(true).vcmdVm("vm1").pss(7).properties();
        assertEquals(Boolean.TRUE, vtd.get("caching.mode"));
        assertEquals(Boolean.TRUE, vtd.get("vcmd"));
        assertEquals("vm1", vtd.get("vcmd.vm"));
        assertEquals(7, vtd.get("pss"));

        Map<String, Object> virtio = Configs.virtio("v", "ep1;sid=0x1")
                .pasidAllocator(VirtioConfig.ALLOCATOR_HOST_SHARED)
                .hostTarget(IoasidPlatform.HOST_SPACE).features("MAP_UNMAP").properties();
        assertEquals("host-shared", virtio.get("pasid.allocator"));
        assertEquals("(ioasid.role=host)", virtio.get("host.target"));
        assertArrayEquals(new String[] {"MAP_UNMAP"}, (String[]) virtio.get("features"));

        HostConfig host = Configs.host().idBits(8);
        assertEquals("ioasid.host", host.factoryPid());
        assertEquals(Map.of("name", "host", "id.bits", 8), host.properties());
    }

    @Test
    void aPluginsBackendFollowsTheSameConvention() {
        BackendConfig c = Configs.backend("example.iommu.mock", "mock0", "mock:0;pasid=20");
        assertEquals("example.iommu.mock", c.factoryPid());
        assertEquals("mock0", c.properties().get("ioasid.iommu.name"));
        assertArrayEquals(new String[] {"mock:0;pasid=20"}, (String[]) c.properties().get("devices"));
    }

    @Test
    void rawPropertiesAreSetAsGivenAndNullRemovesThem() {
        FactoryConfig c = Configs.factory("example.mock", "mock0").set("a", "sixteen")
                .set("b", 1);
        assertEquals(Map.of("a", "sixteen", "b", 1), c.properties());
        c.set("a", null);
        assertEquals(Map.of("b", 1), c.properties());
        SmmuConfig typed = Configs.smmu("s").set("ssid.bits", "sixteen");
        assertEquals("sixteen", typed.properties().get("ssid.bits"));
    }

    @Test
    void theDeviceArrayIsCopiedAndReplaceable() {
        String[] devices = {"a"};
        VtdConfig c = Configs.vtd("d", devices);
        devices[0] = "changed";
        assertArrayEquals(new String[] {"a"}, (String[]) c.properties().get("devices"));
        c.devices("b", "c");
        assertArrayEquals(new String[] {"b", "c"}, (String[]) c.properties().get("devices"));
        assertFalse(c.properties().containsKey("nesting"), "defaults are the backend's");
    }
}
