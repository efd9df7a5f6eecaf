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

import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.dto.BackendDTO;

/**
 * The IOMMU faults of each backend over a window (BackendDTO.faults: translation faults the
 * hardware would report, and driver failures).
 *
 *  1. A backend whose faults grew by the critical count or more within the window (since the
 *     previous execution when the window is 0) is CRITICAL; by the warning count or more, WARN.
 *     Each line names the backend, the faults by kind and where to look.
 *  2. The counts are kept by instance name in the core and only grow, so a backend that left
 *     and returned is measured on; the first reading of a backend is its baseline.
 *  3. The IOMMU core missing is CRITICAL.
 */
// immediate: a delayed component is dropped between executions, and with it the windows
@Component(service = HealthCheck.class, immediate = true, configurationPid = IommuFaultsCheck.PID,
        property = {HealthCheck.NAME + "=IOMMU faults",
            HealthCheck.RESULT_CACHE_TTL_IN_MS + ":Long=0",
            HealthCheck.TAGS + "=ioasid",
            HealthCheck.TAGS + "=liveness"})
@Designate(ocd = IommuFaultsCheck.Config.class)
public final class IommuFaultsCheck implements HealthCheck {
    public static final String PID = "ioasid.health.faults";

    @ObjectClassDefinition(name = "IOASID health: IOMMU faults",
            description = "WARN or CRITICAL when a backend's IOMMU faults within the window "
                    + "reach a threshold")
    public @interface Config {
        @AttributeDefinition(name = "Name", description = "The check's name (hc.name)")
        String hc_name() default "IOMMU faults";

        @AttributeDefinition(name = "Tags", description = "The check's tags (hc.tags)")
        String[] hc_tags() default {"ioasid", "liveness"};

        @AttributeDefinition(name = "Window (s)", description = "The window faults are counted "
                + "in; 0: since the previous execution", min = "0", max = "86400")
        int window_s() default 60;

        @AttributeDefinition(name = "Warning count", description = "Faults of one backend "
                + "within the window that make the check WARN", min = "1")
        int warn_faults() default 1;

        @AttributeDefinition(name = "Critical count", description = "Faults of one backend "
                + "within the window that make the check CRITICAL", min = "1")
        int critical_faults() default 100;
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile IommuService iommu;

    /** The check's clock; tests set it. */
    LongSupplier clock = System::nanoTime;

    /** One window per backend name and fault kind ("name\0kind"). */
    private final Map<String, CounterWindow> windows = new HashMap<>();
    private volatile Config config;
    private volatile CheckSettings settings;

    @Activate
    public IommuFaultsCheck(Config config, Map<String, Object> props) {
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
        IommuService service = iommu;
        if (service == null) {
            f.critical("the IOMMU core is not registered: no device is translated; see "
                    + "scr:list and the log");
            return f.result("");
        }
        Config c = config;
        long now = clock.getAsLong();
        long window = TimeUnit.SECONDS.toNanos(c.window_s());
        String span = window > 0 ? "in the last " + c.window_s() + " s" : "since the last check";
        BackendDTO[] backends = service.backends();
        synchronized (windows) {
            for (BackendDTO b : backends) {
                long grown = 0;
                StringBuilder kinds = new StringBuilder();
                Map<String, Long> byKind = b.faultsByKind == null ? Map.of() : b.faultsByKind;
                for (Map.Entry<String, Long> k : byKind.entrySet()) {
                    long g = windows.computeIfAbsent(b.name + '\0' + k.getKey(),
                            x -> new CounterWindow()).growth(now, k.getValue(), window);
                    if (g > 0) {
                        kinds.append(kinds.length() == 0 ? "" : ", ").append(k.getKey())
                                .append(' ').append(g);
                        grown += g;
                    }
                }
                if (grown == 0 || grown < c.warn_faults() && grown < c.critical_faults()) {
                    continue;
                }
                String line = "IOMMU " + b.name + ": " + grown + " fault" + (grown == 1 ? "" : "s")
                        + " " + span + " (" + kinds + "; " + b.faults + " in all): "
                        + "translation faults are DMA the hardware refused (iommu:probe shows "
                        + "why), driver faults are logged with the failed call; iommu:backends "
                        + "lists the counts";
                if (grown >= c.critical_faults()) {
                    f.critical(line);
                } else {
                    f.warn(line);
                }
            }
        }
        int least = Math.min(c.warn_faults(), c.critical_faults());
        return f.result(backends.length + " IOMMU backend" + (backends.length == 1 ? "" : "s")
                + (least <= 1 ? ", no fault " : ", fewer than " + least + " faults each ")
                + span);
    }
}
