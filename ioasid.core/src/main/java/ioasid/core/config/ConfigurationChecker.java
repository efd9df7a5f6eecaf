package ioasid.core.config;

import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.cm.ConfigurationPlugin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

import ioasid.api.iommu.spi.BackendConfigurations;
import ioasid.core.config.MetatypeDefinitions.Attribute;
import ioasid.core.config.MetatypeDefinitions.Definition;

/*
 * Checks every configuration of the platform (PIDs "ioasid.*") against its Metatype definition
 * before its component sees it, so an operator's mistake is found in one place and named in one
 * line, whatever the component. Config Admin calls it on the way to each consumer (SCR applies
 * plugins), so a check is a pure function of the properties and may run several times.
 *
 *  1. A value of the wrong type, outside its range, not among its options, or several values
 *     for a single-valued attribute is removed, so that SCR converts nothing it cannot, and named
 *     under BackendConfigurations.PROBLEM ("pss=99 is not in [0, 19]"); the component refuses
 *     the configuration with that reason (a backend is listed FAILED, or keeps its previous one).
 *  2. A key the definition does not know is left alone and reported once: a misspelt key is
 *     otherwise silently ignored. Keys of the framework, Config Admin, FileInstall and DS
 *     reference targets are not the definition's to know.
 */
@Component(service = ConfigurationPlugin.class, immediate = true,
        property = ConfigurationPlugin.CM_RANKING + ":Integer=0")
public final class ConfigurationChecker implements ConfigurationPlugin {
    private static final System.Logger LOG = System.getLogger("ioasid.core");
    private static final String PLATFORM = "ioasid.";

    private final BundleContext context;
    /**
     * Definitions per bundle, read once per bundle revision (its last-modified time). The
     * component is immediate so that this lives with the bundle: Config Admin gets and ungets a
     * plugin around each call, and a delayed component would be built anew each time, reading
     * every bundle's Metatype XML again for each configuration it delivers.
     */
    private final Map<Long, Cached> definitions = new ConcurrentHashMap<>();
    /** Unknown keys already reported, per PID, so a redelivery does not repeat the line. */
    private final Set<String> reported = Collections.newSetFromMap(new ConcurrentHashMap<>());

    private static final class Cached {
        final long lastModified;
        final Map<String, Definition> byPid;

        Cached(long lastModified, Map<String, Definition> byPid) {
            this.lastModified = lastModified;
            this.byPid = byPid;
        }
    }

    @Activate
    public ConfigurationChecker(BundleContext context) {
        this.context = context;
    }

    @Override
    public void modifyConfiguration(ServiceReference<?> reference,
            Dictionary<String, Object> properties) {
        Object f = properties.get(ConfigurationAdmin.SERVICE_FACTORYPID);
        Object p = properties.get(Constants.SERVICE_PID);
        String pid = f != null ? f.toString() : p != null ? p.toString() : null;
        if (pid == null || !pid.startsWith(PLATFORM)) {
            return;
        }
        Definition def = definition(pid);
        if (def == null) {
            return;
        }
        List<String> problems = new ArrayList<>();
        List<String> unknown = new ArrayList<>();
        for (Enumeration<String> keys = properties.keys(); keys.hasMoreElements();) {
            String key = keys.nextElement();
            Attribute ad = def.attributes.get(key);
            if (ad == null) {
                if (!foreign(key)) {
                    unknown.add(key);
                }
                continue;
            }
            String problem = check(ad, properties.get(key));
            if (problem != null) {
                problems.add(problem);
            }
        }
        for (String problem : problems) {
            properties.remove(problem.substring(0, problem.indexOf('=')));
        }
        if (!problems.isEmpty()) {
            Collections.sort(problems);
            properties.put(BackendConfigurations.PROBLEM, String.join("; ", problems));
        }
        if (!unknown.isEmpty()) {
            Collections.sort(unknown);
            String source = BackendConfigurations.source(asMap(properties));
            if (reported.add(source + unknown)) {
                LOG.log(System.Logger.Level.WARNING, source + ": unknown key"
                        + (unknown.size() > 1 ? "s " : " ") + String.join(", ", unknown)
                        + " ignored; " + pid + " knows " + String.join(", ",
                                def.attributes.keySet()));
            }
        }
    }

    /**
     * The values of a platform configuration that its bundle's Metatype definition refuses, by
     * key, each with its reason ("key=value is ..."). For the components of this plugin's own
     * bundle: Config Admin may hand them their configuration before the plugin is registered.
     */
    public static Map<String, String> refusals(Bundle bundle, String pid,
            Map<String, ?> properties) {
        Definition def = MetatypeDefinitions.of(bundle).get(pid);
        Map<String, String> out = new HashMap<>();
        if (def == null || properties == null) {
            return out;
        }
        for (Map.Entry<String, ?> e : properties.entrySet()) {
            Attribute ad = def.attributes.get(e.getKey());
            String problem = ad == null ? null : check(ad, e.getValue());
            if (problem != null) {
                out.put(e.getKey(), problem);
            }
        }
        return out;
    }

    /** Keys that belong to the framework, Config Admin, FileInstall or DS, not the component. */
    private static boolean foreign(String key) {
        return key.startsWith("service.") || key.startsWith("component.")
                || key.startsWith("felix.") || key.startsWith(".") || key.endsWith(".target")
                || key.equals(BackendConfigurations.PROBLEM);
    }

    private Definition definition(String pid) {
        for (Bundle b : context.getBundles()) {
            Cached c = definitions.get(b.getBundleId());
            if (c == null || c.lastModified != b.getLastModified()) {
                c = new Cached(b.getLastModified(), MetatypeDefinitions.of(b));
                definitions.put(b.getBundleId(), c);
            }
            Definition d = c.byPid.get(pid);
            if (d != null) {
                return d;
            }
        }
        return null;
    }

    /** Why the value does not fit the attribute ("key=value is ..."), or null when it does. */
    static String check(Attribute ad, Object value) {
        List<Object> values = values(value);
        if (ad.cardinality == 0 && values.size() > 1) {
            return ad.id + "=" + values + " has " + values.size() + " values, not one";
        }
        for (Object v : values) {
            String problem = checkOne(ad, v);
            if (problem != null) {
                return ad.id + "=" + v + " " + problem;
            }
        }
        return null;
    }

    private static List<Object> values(Object value) {
        if (value == null) {
            return List.of();
        }
        if (value instanceof Collection) {
            return new ArrayList<>((Collection<?>) value);
        }
        if (value.getClass().isArray()) {
            List<Object> out = new ArrayList<>();
            for (int i = 0; i < Array.getLength(value); i++) {
                out.add(Array.get(value, i));
            }
            return out;
        }
        return List.of(value);
    }

    private static String checkOne(Attribute ad, Object v) {
        String text = v.toString().trim();
        switch (ad.type) {
            case "Integer":
            case "Long":
            case "Short":
            case "Byte": {
                long n;
                try {
                    n = v instanceof Number ? ((Number) v).longValue() : Long.parseLong(text);
                } catch (NumberFormatException e) {
                    return "is not " + article(ad.type) + " " + ad.type;
                }
                String range = range(ad, n);
                if (range != null) {
                    return range;
                }
                break;
            }
            case "Float":
            case "Double":
                try {
                    if (!(v instanceof Number)) {
                        Double.parseDouble(text);
                    }
                } catch (NumberFormatException e) {
                    return "is not a number";
                }
                break;
            case "Boolean":
                if (!(v instanceof Boolean) && !text.equalsIgnoreCase("true")
                        && !text.equalsIgnoreCase("false")) {
                    return "is not true or false";
                }
                break;
            case "Character":
            case "Char":
                if (text.length() != 1) {
                    return "is not one character";
                }
                break;
            default:
                break;
        }
        if (!ad.options.isEmpty() && !ad.options.contains(text)) {
            return "is not one of " + ad.options;
        }
        return null;
    }

    private static String range(Attribute ad, long n) {
        Long min = ad.min == null ? null : Long.valueOf(ad.min);
        Long max = ad.max == null ? null : Long.valueOf(ad.max);
        if ((min != null && n < min) || (max != null && n > max)) {
            if (min != null && max != null) {
                return "is not in [" + min + ", " + max + "]";
            }
            return min != null ? "is below its minimum " + min : "is above its maximum " + max;
        }
        return null;
    }

    private static String article(String type) {
        return type.equals("Integer") ? "an" : "a";
    }

    private static Map<String, Object> asMap(Dictionary<String, Object> d) {
        Map<String, Object> m = new HashMap<>();
        for (Enumeration<String> e = d.keys(); e.hasMoreElements();) {
            String k = e.nextElement();
            m.put(k, d.get(k));
        }
        return m;
    }
}
