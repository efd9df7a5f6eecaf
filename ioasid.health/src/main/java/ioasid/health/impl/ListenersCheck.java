package ioasid.health.impl;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import ioasid.api.IoasidService;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.dto.StatsDTO;

/**
 * The listeners of the platform's own IOASID space receive their events.
 *
 *  1. A STALLED listener (it did not return within the core's stall timeout and is skipped
 *     since) is CRITICAL: whatever it keeps in step with the IDs is out of step.
 *  2. Listener calls that threw (the core's failure counter grew) within the failure window are
 *     WARN: the core contains them and delivery goes on; 0 turns this off.
 *  3. A REJECTED listener is WARN, with the core's reason.
 *  4. The IOASID core missing is CRITICAL.
 */
// immediate: a delayed component is dropped between executions, and with it what the
// check remembers from one execution to the next
@Component(service = HealthCheck.class, immediate = true, configurationPid = ListenersCheck.PID,
        property = {HealthCheck.NAME + "=IOASID listeners",
            // cheap snapshots: an answer is never older than the question
            HealthCheck.RESULT_CACHE_TTL_IN_MS + ":Long=0",
            HealthCheck.TAGS + "=ioasid",
            HealthCheck.TAGS + "=liveness"})
@Designate(ocd = ListenersCheck.Config.class)
public final class ListenersCheck implements HealthCheck {
    public static final String PID = "ioasid.health.listeners";

    @ObjectClassDefinition(name = "IOASID health: listeners",
            description = "CRITICAL while a listener is stalled, WARN after listener failures "
                    + "or for a rejected listener")
    public @interface Config {
        @AttributeDefinition(name = "Name", description = "The check's name (hc.name)")
        String hc_name() default "IOASID listeners";

        @AttributeDefinition(name = "Tags", description = "The check's tags (hc.tags)")
        String[] hc_tags() default {"ioasid", "liveness"};

        @AttributeDefinition(name = "Failure window (s)", description = "How long a listener "
                + "that threw keeps the check at WARN; 0: not reported", min = "0",
                max = "86400")
        int failure_window_s() default 60;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            target = "(!(ioasid.role=host))")
    volatile IoasidService ioasid;

    /** The check's clock; tests set it. */
    LongSupplier clock = System::nanoTime;

    private final CounterWindow failures = new CounterWindow();
    private volatile Config config;
    private volatile CheckSettings settings;

    @Activate
    public ListenersCheck(Config config, Map<String, Object> props) {
        modified(config, props);
    }

    @Modified
    void modified(Config config, Map<String, Object> props) {
        this.config = config;
        this.settings = CheckSettings.of(config.hc_name(), props);
    }

    @Override
    public Result execute() {
        Findings f = new Findings();
        f.refused(settings);
        IoasidService service = ioasid;
        if (service == null) {
            f.critical("the IOASID core is not registered: no listener gets events; see "
                    + "scr:list and the log");
            return f.result("");
        }
        Config c = config;
        ListenerDTO[] listeners = service.listeners();
        for (ListenerDTO l : listeners) {
            if (ListenerDTO.STALLED.equals(l.state)) {
                f.critical("listener " + l.name + " (service " + l.serviceId + ", " + l.scope
                        + ") stalled and gets no events since: it did not return in time; "
                        + "restart or fix its bundle");
            } else if (ListenerDTO.REJECTED.equals(l.state)) {
                f.warn("listener " + l.name + " (service " + l.serviceId + ") was rejected: "
                        + l.reason);
            }
        }
        if (c.failure_window_s() > 0) {
            StatsDTO stats = service.stats();
            long grown = failures.growth(clock.getAsLong(), stats.listenerFailures,
                    TimeUnit.SECONDS.toNanos(c.failure_window_s()));
            if (grown > 0) {
                f.warn(grown + " listener call" + (grown == 1 ? "" : "s") + " threw in the last "
                        + c.failure_window_s() + " s (" + stats.listenerFailures + " in all); "
                        + "ioasid:listeners shows each listener's last failure");
            }
        }
        return f.result(listeners.length + " listener" + (listeners.length == 1 ? "" : "s")
                + ", none stalled");
    }
}
