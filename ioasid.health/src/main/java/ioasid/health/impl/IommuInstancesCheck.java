package ioasid.health.impl;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
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
import ioasid.api.iommu.spi.BackendConfigurations;
import ioasid.api.iommu.spi.IommuBackend;

/**
 * Every configured IOMMU instance is up: the platform is ready when each instance an operator
 * configured serves its devices.
 *
 *  1. An instance whose configuration was refused is registered FAILED (the backend's contract):
 *     CRITICAL, with its reason and the file to fix.
 *  2. A configuration of a backend factory PID without a registered instance (its backend bundle
 *     stopped or gone) is CRITICAL, naming the bundle that served it when that is known: the
 *     bundles that registered each factory PID's instances are remembered for this.
 *  3. A registered backend the IOMMU core does not list (its name was taken) is CRITICAL.
 *  4. A running instance that refused a later change is WARN: it serves, on its previous
 *     configuration.
 *  5. The IOMMU core missing is CRITICAL: a check must answer, since a tag that selects no check
 *     passes.
 */
// immediate: a delayed component is dropped between executions, and with it what the
// check remembers from one execution to the next
@Component(service = HealthCheck.class, immediate = true,
        configurationPid = IommuInstancesCheck.PID,
        property = {HealthCheck.NAME + "=IOMMU instances",
            // cheap snapshots: an answer is never older than the question
            HealthCheck.RESULT_CACHE_TTL_IN_MS + ":Long=0",
            HealthCheck.TAGS + "=ioasid",
            HealthCheck.TAGS + "=readiness"})
@Designate(ocd = IommuInstancesCheck.Config.class)
public final class IommuInstancesCheck implements HealthCheck {
    public static final String PID = "ioasid.health.iommu";

    @ObjectClassDefinition(name = "IOASID health: IOMMU instances",
            description = "CRITICAL while a configured IOMMU instance is FAILED or not running")
    public @interface Config {
        @AttributeDefinition(name = "Name", description = "The check's name (hc.name)")
        String hc_name() default "IOMMU instances";

        @AttributeDefinition(name = "Tags", description = "The check's tags (hc.tags)")
        String[] hc_tags() default {"ioasid", "readiness"};

        @AttributeDefinition(name = "Backend factory PIDs", description = "Factory PIDs whose "
                + "configurations are IOMMU instances; a backend's own PID counts while it is "
                + "registered, list a plug-in's PID here so a stopped plug-in is noticed")
        String[] factory_pids() default {"ioasid.backend.smmuv3", "ioasid.backend.vtd",
            "ioasid.backend.virtio"};
    }

    /** One configured instance, as the check reports it. */
    static final class Configured {
        final String pid;
        final String factoryPid;
        final String name;
        final String source;

        Configured(String pid, String factoryPid, String name, String source) {
            this.pid = pid;
            this.factoryPid = factoryPid;
            this.name = name;
            this.source = source;
        }
    }

    /** One registered backend service: its configuration's PID (or null) and its bundle. */
    static final class Registered {
        final long serviceId;
        final String name;
        final String pid;
        final String factoryPid;
        final long bundleId;

        Registered(long serviceId, String name, String pid, String factoryPid, long bundleId) {
            this.serviceId = serviceId;
            this.name = name;
            this.pid = pid;
            this.factoryPid = factoryPid;
            this.bundleId = bundleId;
        }
    }

    /** What the check knows of bundles: a name and state for an ID, or null when it is gone. */
    interface Bundles {
        String describe(long bundleId);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile IommuService iommu;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile ConfigurationAdmin configurationAdmin;

    private final BundleContext context;
    /** The bundle that last registered instances of each factory PID (point 2 above). */
    private final Map<String, Long> servedBy = new ConcurrentHashMap<>();
    private volatile Config config;
    private volatile CheckSettings settings;

    @Activate
    public IommuInstancesCheck(BundleContext context, Config config, Map<String, Object> props) {
        this.context = context;
        modified(config, props);
    }

    @Modified
    void modified(Config config, Map<String, Object> props) {
        this.config = config;
        this.settings = CheckSettings.of(config.hc_name(), props);
    }

    /**
     * Learns which bundle serves a factory PID as its instances register, not only when the
     * check runs: a backend may come and go between two executions.
     */
    @Reference(service = IommuBackend.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC)
    void bindBackend(ServiceReference<IommuBackend> ref) {
        String factoryPid = factoryPid(ref);
        Bundle b = ref.getBundle();
        if (factoryPid != null && b != null) {
            servedBy.put(factoryPid, b.getBundleId());
        }
    }

    void unbindBackend(ServiceReference<IommuBackend> ref) {
        // what served a PID stays known: that is what the check reports once it is gone
    }

    @Override
    public Result execute() {
        Findings f = new Findings();
        f.refused(settings);
        IommuService service = iommu;
        if (service == null) {
            f.critical("the IOMMU core is not registered: no instance serves a device; "
                    + "see scr:list and the log");
            return f.result("");
        }
        List<Registered> registered = registered();
        for (Registered r : registered) {
            if (r.factoryPid != null) {
                servedBy.put(r.factoryPid, r.bundleId);
            }
        }
        Set<String> pids = new LinkedHashSet<>(List.of(config.factory_pids()));
        for (Registered r : registered) {
            if (r.factoryPid != null) {
                pids.add(r.factoryPid);
            }
        }
        BackendDTO[] backends = service.backends();
        judge(f, backends, configured(pids), registered, new HashMap<>(servedBy), this::bundle);
        return f.result(backends.length + " IOMMU instance" + (backends.length == 1 ? "" : "s")
                + " up" + names(backends));
    }

    /** Points 1-4 over what was gathered; the lines name the configuration's file. */
    static void judge(Findings f, BackendDTO[] backends, List<Configured> configured,
            List<Registered> registered, Map<String, Long> servedBy, Bundles bundles) {
        Map<Long, Registered> byService = new HashMap<>();
        Map<String, Registered> byPid = new HashMap<>();
        for (Registered r : registered) {
            byService.put(r.serviceId, r);
            if (r.pid != null) {
                byPid.put(r.pid, r);
            }
        }
        Map<String, Configured> configuredByPid = new HashMap<>();
        for (Configured c : configured) {
            configuredByPid.put(c.pid, c);
        }
        Set<Long> listed = new HashSet<>();
        for (BackendDTO b : backends) {
            listed.add(b.serviceId);
            Registered r = byService.get(b.serviceId);
            Configured c = r == null || r.pid == null ? null : configuredByPid.get(r.pid);
            String fix = c == null ? "fix its configuration" : "fix " + c.source;
            if ("FAILED".equals(b.state)) {
                f.critical(b.name + " (" + b.vendor + ") is FAILED: " + b.problem + "; " + fix);
            } else if (b.problem != null) {
                f.warn(b.name + " (" + b.vendor + ") refused a change and runs on its previous "
                        + "configuration: " + b.problem + "; " + fix);
            }
        }
        for (Registered r : registered) {
            if (!listed.contains(r.serviceId)) {
                f.critical(r.name + " (service " + r.serviceId + ") is registered but the IOMMU "
                        + "core does not use it: its name is taken or it was refused; see the log");
            }
        }
        for (Configured c : configured) {
            if (byPid.containsKey(c.pid)) {
                continue;
            }
            Long bundleId = servedBy.get(c.factoryPid);
            String bundle = bundleId == null ? null : bundles.describe(bundleId);
            String why = bundle != null ? "its backend bundle " + bundle
                    : bundleId != null ? "its backend bundle was uninstalled; install it again"
                    : "no backend has registered " + c.factoryPid + " instances; install and "
                            + "start its bundle";
            f.critical(c.name + " (" + c.source + ") is configured but not running: " + why);
        }
    }

    private static String names(BackendDTO[] backends) {
        StringBuilder sb = new StringBuilder();
        for (BackendDTO b : backends) {
            sb.append(sb.length() == 0 ? ": " : ", ").append(b.name);
        }
        return sb.toString();
    }

    private List<Registered> registered() {
        List<Registered> out = new ArrayList<>();
        Collection<ServiceReference<IommuBackend>> refs;
        try {
            refs = context.getServiceReferences(IommuBackend.class, null);
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        } catch (IllegalStateException e) {
            return out; // this bundle is stopping
        }
        for (ServiceReference<IommuBackend> ref : refs) {
            Bundle b = ref.getBundle();
            if (b == null) {
                continue; // unregistered meanwhile
            }
            out.add(new Registered((Long) ref.getProperty(Constants.SERVICE_ID),
                    String.valueOf(ref.getProperty(IommuBackend.NAME)),
                    text(ref.getProperty(Constants.SERVICE_PID)),
                    factoryPid(ref),
                    b.getBundleId()));
        }
        return out;
    }

    /** The factory PID of the configuration a backend service came from, or null. */
    private static String factoryPid(ServiceReference<?> ref) {
        return text(ref.getProperty(ConfigurationAdmin.SERVICE_FACTORYPID));
    }

    /** A filter value, its special characters escaped. */
    static String escape(String value) {
        StringBuilder sb = new StringBuilder();
        for (char ch : value.toCharArray()) {
            if (ch == '(' || ch == ')' || ch == '*' || ch == '\\') {
                sb.append('\\');
            }
            sb.append(ch);
        }
        return sb.toString();
    }

    private List<Configured> configured(Set<String> factoryPids) {
        List<Configured> out = new ArrayList<>();
        ConfigurationAdmin ca = configurationAdmin;
        if (ca == null) {
            return out;
        }
        for (String factoryPid : factoryPids) {
            Configuration[] configs;
            try {
                configs = ca.listConfigurations("(" + ConfigurationAdmin.SERVICE_FACTORYPID + "="
                        + escape(factoryPid) + ")");
            } catch (IOException | InvalidSyntaxException e) {
                continue; // a PID that is no filter value cannot have configurations
            }
            if (configs == null) {
                continue;
            }
            for (Configuration c : configs) {
                Map<String, Object> props = new HashMap<>();
                if (c.getProperties() == null) {
                    continue;
                }
                for (String key : Collections.list(c.getProperties().keys())) {
                    props.put(key, c.getProperties().get(key));
                }
                Object name = props.get(IommuBackend.NAME);
                out.add(new Configured(c.getPid(), factoryPid,
                        name == null ? c.getPid() : name.toString(),
                        BackendConfigurations.source(props)));
            }
        }
        return out;
    }

    private String bundle(long id) {
        Bundle b;
        try {
            b = context.getBundle(id);
        } catch (IllegalStateException e) {
            return null;
        }
        if (b == null) {
            return null;
        }
        return b.getSymbolicName() + " (bundle " + id + ") is " + state(b.getState())
                + (b.getState() == Bundle.ACTIVE ? " but registers no instance for it; see "
                        + "the log" : "; start it");
    }

    static String state(int state) {
        switch (state) {
            case Bundle.INSTALLED:
                return "INSTALLED";
            case Bundle.RESOLVED:
                return "RESOLVED";
            case Bundle.STARTING:
                return "STARTING";
            case Bundle.STOPPING:
                return "STOPPING";
            case Bundle.ACTIVE:
                return "ACTIVE";
            default:
                return "UNINSTALLED";
        }
    }

    private static String text(Object o) {
        return o == null ? null : o.toString();
    }
}
