package ioasid.health.impl;

import java.io.IOException;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Map;

import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Configures the health check core's monitor for the tag {@code readiness}, which registers the
 * condition {@code osgi.condition.id=felix.hc.readiness} while every readiness check passes
 * (WARN counts as passing: the platform serves), and withdraws it otherwise.
 *
 * The monitor lives exactly as long as these checks: a tag that selects no check passes, so a
 * monitor left behind without them would declare the platform ready. Hence the configuration is
 * created on activation and deleted on deactivation, not left to a file.
 */
@Component(configurationPid = ReadinessMonitor.PID, immediate = true)
@Designate(ocd = ReadinessMonitor.Config.class)
public final class ReadinessMonitor {
    public static final String PID = "ioasid.health.readiness";
    /** The health check core's monitor, a factory configuration per monitored selection. */
    static final String MONITOR_PID = "org.apache.felix.hc.core.impl.monitor.HealthCheckMonitor";
    /** The name of this monitor's factory configuration. */
    static final String NAME = "ioasid.readiness";
    static final String TAG = "readiness";

    @ObjectClassDefinition(name = "IOASID health: readiness monitor",
            description = "Registers the felix.hc.readiness condition while the readiness "
                    + "checks pass")
    public @interface Config {
        @AttributeDefinition(name = "Interval (s)", description = "How often the readiness "
                + "checks run, so how late the condition follows a change", min = "1",
                max = "3600")
        int interval_s() default 1;
    }

    private final ConfigurationAdmin admin;

    @Activate
    public ReadinessMonitor(@Reference ConfigurationAdmin admin, Config config,
            Map<String, Object> props) throws IOException {
        this.admin = admin;
        modified(config, props);
    }

    @Modified
    void modified(Config config, Map<String, Object> props) throws IOException {
        CheckSettings.of("readiness monitor", props);
        Configuration c = admin.getFactoryConfiguration(MONITOR_PID, NAME, "?");
        c.updateIfDifferent(properties(config));
    }

    @Deactivate
    void deactivate() throws IOException {
        admin.getFactoryConfiguration(MONITOR_PID, NAME, "?").delete();
    }

    static Dictionary<String, Object> properties(Config config) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("tags", new String[] {TAG});
        p.put("intervalInSec", (long) config.interval_s());
        p.put("registerHealthyMarkerService", Boolean.TRUE);
        p.put("treatWarnAsHealthy", Boolean.TRUE);
        return p;
    }
}
