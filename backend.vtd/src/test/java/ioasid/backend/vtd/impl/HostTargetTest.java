package ioasid.backend.vtd.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkUtil;
import org.osgi.service.cm.ConfigurationPlugin;

import ioasid.api.IoasidService;
import ioasid.testkit.ComponentConfig;

/** The Config Admin plugin that keeps host IOASID spaces away from units without VCMD. */
class HostTargetTest {
    private static final String HOST = "(ioasid.role=host)";

    /** A stored configuration, as the plugin receives a copy of it. */
    private static Hashtable<String, Object> stored(Object... kv) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Constants.SERVICE_PID, VtdBackend.PID + "~dmar0");
        props.put("service.factoryPid", VtdBackend.PID);
        for (int i = 0; i < kv.length; i += 2) {
            props.put((String) kv[i], kv[i + 1]);
        }
        return props;
    }

    private static Hashtable<String, Object> processed(Object... kv) {
        Hashtable<String, Object> props = stored(kv);
        new VtdHostTarget().modifyConfiguration(null, props);
        return props;
    }

    @Test
    @DisplayName("a unit without virtual commands gets a host target that matches nothing, over "
            + "the default and over a target of its own")
    void unitsWithoutVirtualCommands() {
        assertEquals(VtdHostTarget.NO_HOST, processed().get("host.target"));
        assertEquals(VtdHostTarget.NO_HOST, processed("host.target", HOST).get("host.target"));
        assertEquals(VtdHostTarget.NO_HOST, processed("caching.mode", true).get("host.target"));
        assertEquals(VtdHostTarget.NO_HOST, processed("vcmd", true).get("host.target"));
        assertEquals(VtdHostTarget.NO_HOST, processed("caching.mode", true, "vcmd", true,
                "scalable.mode", false).get("host.target"), "no PASIDs without scalable mode");
        Hashtable<String, Object> p = processed("devices", new String[] {"0000:00:04.0"});
        assertArrayEquals(new String[] {"0000:00:04.0"}, (String[]) p.get("devices"),
                "the rest is left as it is");
        assertEquals(VtdBackend.PID, p.get("service.factoryPid"));
    }

    @Test
    @DisplayName("a unit with virtual commands keeps its own target, or the component's default")
    void vcmdUnitsKeepTheirTarget() {
        assertNull(processed("caching.mode", true, "vcmd", true).get("host.target"));
        assertEquals(HOST, processed("caching.mode", true, "vcmd", true, "host.target", HOST)
                .get("host.target"));
    }

    @Test
    @DisplayName("values are read as SCR reads them: text, arrays and lists, numbers")
    void valuesAsScrReadsThem() {
        assertNull(processed("caching.mode", "true", "vcmd", "TRUE").get("host.target"),
                "a .cfg file gives text");
        assertNull(processed("caching.mode", new boolean[] {true}, "vcmd", List.of("true"),
                "scalable.mode", new Boolean[] {true, false}).get("host.target"));
        assertNull(processed("caching.mode", 1, "vcmd", 1L).get("host.target"));
        assertEquals(VtdHostTarget.NO_HOST, processed("caching.mode", " true", "vcmd", true)
                .get("host.target"), "Boolean.parseBoolean does not trim");
        assertEquals(VtdHostTarget.NO_HOST, processed("caching.mode", new String[0], "vcmd", true)
                .get("host.target"), "an empty list is false");
        assertEquals(VtdHostTarget.NO_HOST, processed("caching.mode", true, "vcmd", 0)
                .get("host.target"));
    }

    @Test
    @DisplayName("the plugin's decision is the unit's own: a guest allocator exactly when the "
            + "configuration keeps its host target")
    void sameDecisionAsTheUnit() {
        for (int bits = 0; bits < 8; bits++) {
            for (boolean asText : new boolean[] {false, true}) {
                Map<String, Object> config = new HashMap<>();
                config.put("caching.mode", value((bits & 1) != 0, asText));
                config.put("scalable.mode", value((bits & 2) != 0, asText));
                config.put("vcmd", value((bits & 4) != 0, asText));
                config.put("vcmd.vm", "vm-host-target-test");
                Hashtable<String, Object> props = new Hashtable<>(config);
                new VtdHostTarget().modifyConfiguration(null, props);
                VtdBackend unit = new VtdBackend(null,
                        ComponentConfig.of(VtdBackend.Config.class, config), null);
                try {
                    assertEquals(unit.guestAllocator() != null, !props.containsKey("host.target"),
                            config.toString());
                } finally {
                    unit.deactivate();
                }
            }
        }
    }

    private static Object value(boolean b, boolean asText) {
        return asText ? Boolean.toString(b) : Boolean.valueOf(b);
    }

    @Test
    @DisplayName("the target matches no service, a host space's properties included")
    void noHostMatchesNothing() throws Exception {
        Hashtable<String, Object> host = new Hashtable<>();
        host.put(Constants.OBJECTCLASS, new String[] {IoasidService.class.getName()});
        host.put("ioasid.role", "host");
        host.put("ioasid.vcmd.host", true);
        assertFalse(FrameworkUtil.createFilter(VtdHostTarget.NO_HOST).match(host));
        assertTrue(FrameworkUtil.createFilter("(ioasid.vcmd.host=true)").match(host),
                "what a VCMD unit's default target finds");
    }

    @Test
    @DisplayName("the bundle's activator registers the plugin for the VT-d factory PID only and "
            + "withdraws it when the bundle stops")
    void registeredByTheActivator() {
        ComponentTest.Registry fw = new ComponentTest.Registry();
        VtdHostTarget activator = new VtdHostTarget();
        activator.start(fw.context());
        assertEquals(1, fw.services.size());
        assertSame(activator, fw.services.get(0));
        assertArrayEquals(new String[] {VtdBackend.PID},
                (String[]) fw.properties.get(0).get(ConfigurationPlugin.CM_TARGET));
        activator.stop(fw.context());
        assertEquals(List.of(activator), fw.unregistered);
        activator.stop(fw.context());
        assertEquals(1, fw.unregistered.size(), "stopping twice unregisters once");
    }
}
