package ioasid.health.impl;

import java.util.HashMap;
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
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.StatsDTO;

/**
 * The allocator stack of the platform's own IOASID space is healthy.
 *
 *  1. A custom allocator call that threw or returned an unusable ID (the core's allocator fault
 *     counter grew) within the fault window, or since the previous execution when the window is
 *     0, is CRITICAL: allocations fell back or failed.
 *  2. An allocator WAITING (it may not take over while the active space holds IDs) for longer
 *     than the waiting limit is WARN: the platform works, on the space it had. The core gives no
 *     time, so the check times each allocator from the first execution that saw it waiting.
 *  3. A REJECTED allocator is WARN, with the core's reason.
 *  4. The IOASID core missing is CRITICAL.
 */
// immediate: a delayed component is dropped between executions, and with it what the
// check remembers from one execution to the next
@Component(service = HealthCheck.class, immediate = true, configurationPid = AllocatorsCheck.PID,
        property = {HealthCheck.NAME + "=IOASID allocators",
            // cheap snapshots: an answer is never older than the question
            HealthCheck.RESULT_CACHE_TTL_IN_MS + ":Long=0",
            HealthCheck.TAGS + "=ioasid",
            HealthCheck.TAGS + "=liveness"})
@Designate(ocd = AllocatorsCheck.Config.class)
public final class AllocatorsCheck implements HealthCheck {
    public static final String PID = "ioasid.health.allocators";

    @ObjectClassDefinition(name = "IOASID health: allocators",
            description = "CRITICAL after an allocator fault, WARN for an allocator waiting "
                    + "too long or rejected")
    public @interface Config {
        @AttributeDefinition(name = "Name", description = "The check's name (hc.name)")
        String hc_name() default "IOASID allocators";

        @AttributeDefinition(name = "Tags", description = "The check's tags (hc.tags)")
        String[] hc_tags() default {"ioasid", "liveness"};

        @AttributeDefinition(name = "Fault window (s)", description = "How long an allocator "
                + "fault keeps the check CRITICAL; 0: until the next execution", min = "0",
                max = "86400")
        int fault_window_s() default 60;

        @AttributeDefinition(name = "Waiting limit (s)", description = "How long an allocator "
                + "may wait to take over before the check warns", min = "1", max = "86400")
        int waiting_max_s() default 30;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            target = "(!(ioasid.role=host))")
    volatile IoasidService ioasid;

    /** The check's clock; tests set it. */
    LongSupplier clock = System::nanoTime;

    private final CounterWindow faults = new CounterWindow();
    /** When each waiting allocator (by service ID) was first seen waiting. */
    private final Map<Long, Long> waitingSince = new HashMap<>();
    private volatile Config config;
    private volatile CheckSettings settings;

    @Activate
    public AllocatorsCheck(Config config, Map<String, Object> props) {
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
            f.critical("the IOASID core is not registered: nothing can be allocated; see "
                    + "scr:list and the log");
            return f.result("");
        }
        Config c = config;
        long now = clock.getAsLong();
        StatsDTO stats = service.stats();
        long window = TimeUnit.SECONDS.toNanos(c.fault_window_s());
        long grown = faults.growth(now, stats.allocatorFaults, window);
        if (grown > 0) {
            f.critical(grown + " allocator fault" + (grown == 1 ? "" : "s") + " "
                    + (window > 0 ? "in the last " + c.fault_window_s() + " s"
                            : "since the last check")
                    + " (" + stats.allocatorFaults + " in all): a custom allocator threw or "
                    + "returned an unusable ID; the log names it, ioasid:allocators lists them");
        }
        AllocatorDTO[] allocators = service.allocators();
        synchronized (waitingSince) {
            Map<Long, Long> still = new HashMap<>();
            for (AllocatorDTO a : allocators) {
                if (AllocatorDTO.WAITING.equals(a.state)) {
                    long since = waitingSince.getOrDefault(a.serviceId, now);
                    still.put(a.serviceId, since);
                    long waited = TimeUnit.NANOSECONDS.toSeconds(now - since);
                    if (waited >= c.waiting_max_s()) {
                        f.warn("allocator " + a.name + " (service " + a.serviceId + ") has waited "
                                + waited + " s to take over: " + a.reason + "; free the IDs of "
                                + "the active space (ioasid:spaces) or stop the allocator");
                    }
                } else if (AllocatorDTO.REJECTED.equals(a.state)) {
                    f.warn("allocator " + a.name + " (service " + a.serviceId + ") was rejected: "
                            + a.errno + " " + a.reason);
                }
            }
            waitingSince.clear();
            waitingSince.putAll(still);
        }
        return f.result(allocators.length + " custom allocator" + (allocators.length == 1 ? ""
                : "s") + ", no fault, none waiting longer than " + c.waiting_max_s() + " s");
    }
}
