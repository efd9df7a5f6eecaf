package ioasid.health.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

class ReadinessMonitorTest {
    final List<String> calls = new ArrayList<>();
    Dictionary<?, ?> written;

    ConfigurationAdmin admin() {
        Configuration c = Fakes.service(Configuration.class, Map.of(
                "updateIfDifferent", a -> {
                    written = (Dictionary<?, ?>) a[0];
                    calls.add("update");
                    return true;
                },
                "delete", a -> {
                    calls.add("delete");
                    return null;
                }));
        Map<String, java.util.function.Function<Object[], Object>> answers = new HashMap<>();
        answers.put("getFactoryConfiguration", a -> {
            calls.add(a[0] + "~" + a[1] + " at " + a[2]);
            return c;
        });
        return Fakes.service(ConfigurationAdmin.class, answers);
    }

    @Test
    void monitorsTheReadinessTagWhileActive() throws Exception {
        ReadinessMonitor m = new ReadinessMonitor(admin(),
                Fakes.config(ReadinessMonitor.Config.class, "interval_s", 3), Map.of());
        assertEquals(List.of("org.apache.felix.hc.core.impl.monitor.HealthCheckMonitor"
                + "~ioasid.readiness at ?", "update"), calls);
        assertArrayEquals(new String[] {"readiness"}, (String[]) written.get("tags"));
        assertEquals(3L, written.get("intervalInSec"));
        assertEquals(Boolean.TRUE, written.get("treatWarnAsHealthy"));
        assertEquals(Boolean.TRUE, written.get("registerHealthyMarkerService"));
        calls.clear();
        m.deactivate();
        assertEquals(List.of("org.apache.felix.hc.core.impl.monitor.HealthCheckMonitor"
                + "~ioasid.readiness at ?", "delete"), calls,
                "a monitor left without the checks would find the platform ready");
    }
}
