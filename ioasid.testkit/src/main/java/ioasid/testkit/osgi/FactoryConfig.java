package ioasid.testkit.osgi;

import java.io.IOException;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * A named factory configuration to create through Config Admin: one IOMMU instance, one host
 * space, or one instance of a plug-in's own component. {@link Configs} makes the typed ones of
 * the platform; {@link Configs#factory} any other.
 *
 * <p>{@link #create} uses {@code ConfigurationAdmin.getFactoryConfiguration(factoryPid, name,
 * "?")}: creating the same factory PID and name again replaces the properties of the existing
 * configuration, as an operator's edit of its file does.
 */
public class FactoryConfig {
    private final String factoryPid;
    private final String name;
    private final Map<String, Object> properties = new LinkedHashMap<>();

    protected FactoryConfig(String factoryPid, String name) {
        this.factoryPid = Objects.requireNonNull(factoryPid, "factoryPid");
        this.name = Objects.requireNonNull(name, "name");
    }

    /** The factory PID, e.g. {@code ioasid.backend.vtd}. */
    public final String factoryPid() {
        return factoryPid;
    }

    /** The configuration's name within its factory PID (Config Admin 1.6's alias). */
    public final String name() {
        return name;
    }

    /**
     * Sets a property as it is, for names and values the typed setters do not cover (or a value
     * of the wrong type, to test how it is refused). A null value removes the property.
     */
    public FactoryConfig set(String key, Object value) {
        Objects.requireNonNull(key, "key");
        if (value == null) {
            properties.remove(key);
        } else {
            properties.put(key, value);
        }
        return this;
    }

    /** The properties set so far, in the order they were first set. */
    public final Map<String, Object> properties() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(properties));
    }

    /**
     * Creates the configuration, or replaces the properties of the one with this factory PID and
     * name. Config Admin delivers it to the component asynchronously: wait for its effect (for a
     * backend, {@link IoasidPlatform#awaitBackend}).
     */
    public final Configuration create(ConfigurationAdmin configurationAdmin) throws IOException {
        Configuration c = configurationAdmin.getFactoryConfiguration(factoryPid, name, "?");
        Dictionary<String, Object> d = new Hashtable<>(properties);
        c.update(d);
        return c;
    }

    @Override
    public String toString() {
        return factoryPid + "~" + name + properties;
    }
}
