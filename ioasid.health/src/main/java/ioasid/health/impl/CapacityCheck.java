package ioasid.health.impl;

import java.util.Collection;
import java.util.Map;

import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import ioasid.api.IoasidService;
import ioasid.api.dto.CapacityDTO;
import ioasid.api.dto.IdSpaceDTO;

/**
 * Every ID space keeps headroom: WARN when an ID space of any IOASID service (the platform's
 * own and each host space) has fewer free IDs than the configured share of its IDs. A space's
 * size is the service's, 1 to its largest ID (ID 0 is reserved); its live IDs include those
 * still FREE_PENDING, which are not free yet either. Only WARN: a full space refuses
 * allocations with ENOSPC, and everything else still works.
 */
// immediate: a delayed component is dropped between executions, and with it what the
// check remembers from one execution to the next
@Component(service = HealthCheck.class, immediate = true, configurationPid = CapacityCheck.PID,
        property = {HealthCheck.NAME + "=IOASID capacity",
            // cheap snapshots: an answer is never older than the question
            HealthCheck.RESULT_CACHE_TTL_IN_MS + ":Long=0",
            HealthCheck.TAGS + "=ioasid"})
@Designate(ocd = CapacityCheck.Config.class)
public final class CapacityCheck implements HealthCheck {
    public static final String PID = "ioasid.health.capacity";
    /** The property of host spaces; the platform's own service has none. */
    static final String ROLE = "ioasid.role";

    @ObjectClassDefinition(name = "IOASID health: capacity",
            description = "WARN while an ID space has too few free IDs")
    public @interface Config {
        @AttributeDefinition(name = "Name", description = "The check's name (hc.name)")
        String hc_name() default "IOASID capacity";

        @AttributeDefinition(name = "Tags", description = "The check's tags (hc.tags)")
        String[] hc_tags() default {"ioasid"};

        @AttributeDefinition(name = "Free IDs (%)", description = "Warn when an ID space has "
                + "fewer free IDs than this share of its IDs", min = "0", max = "100")
        int free_min_percent() default 10;
    }

    private final BundleContext context;
    private volatile Config config;
    private volatile CheckSettings settings;

    @Activate
    public CapacityCheck(BundleContext context, Config config, Map<String, Object> props) {
        this.context = context;
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
        int percent = config.free_min_percent();
        Collection<ServiceReference<IoasidService>> refs;
        try {
            refs = context.getServiceReferences(IoasidService.class, null);
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        int spaces = 0;
        boolean own = false;
        for (ServiceReference<IoasidService> ref : refs) {
            IoasidService s = context.getService(ref);
            if (s == null) {
                continue; // unregistered meanwhile
            }
            try {
                Object role = ref.getProperty(ROLE);
                own |= role == null;
                String label = role == null ? "the platform's IOASID space"
                        : role + " space " + ref.getProperty("ioasid.host.name");
                IdSpaceDTO[] ids = s.idSpaces();
                spaces += ids.length;
                judge(f, label, s.capacity(), ids, percent);
            } finally {
                context.ungetService(ref);
            }
        }
        if (!own) {
            f.critical("the IOASID core is not registered: nothing can be allocated; see "
                    + "scr:list and the log");
        }
        return f.result(spaces + " ID space" + (spaces == 1 ? "" : "s") + ", each with at least "
                + percent + "% of its IDs free");
    }

    /** WARN for each space with fewer than percent% of its IDs free. */
    static void judge(Findings f, String label, CapacityDTO capacity, IdSpaceDTO[] spaces,
            int percent) {
        long size = capacity.maxId;
        for (IdSpaceDTO space : spaces) {
            long free = Math.max(0, size - space.live);
            if (free * 100 < (long) percent * size) {
                f.warn(label + ", ID space " + space.name + ": " + free + " of " + size
                        + " IDs free (" + (free * 100 / size) + "%, under " + percent + "%); "
                        + "free IDs or sets (ioasid:sets), or give it more ID bits");
            }
        }
    }
}
