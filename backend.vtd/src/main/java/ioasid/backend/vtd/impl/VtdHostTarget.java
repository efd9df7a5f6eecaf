package ioasid.backend.vtd.impl;

import java.lang.reflect.Array;
import java.util.Collection;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Iterator;

import org.osgi.annotation.bundle.Header;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.ConfigurationPlugin;

/**
 * Keeps host IOASID spaces away from the VT-d units that have no use for them.
 *
 * <p>Rules:
 * <ol>
 * <li>Only a unit that allocates PASIDs through virtual commands (caching mode, scalable mode and
 * VCMD: {@link #usesHost}, what {@code VtdDriver.guestAllocator} reads back from the registers;
 * rule 30) calls the host service of {@link VtdBackend}'s {@code host} reference.</li>
 * <li>That reference stays static and greedy, for such a unit's sake: its VMM model, the ID space
 * of its allocator and the allocator service are built from the host when the unit activates, so
 * a host arriving or leaving must rebuild the unit, and a static reference does exactly that
 * (the component is deactivated and activated again when its bound service leaves or, greedy,
 * when a matching one arrives). Its PASIDs are detached with UNBIND on the way (D17).</li>
 * <li>Every other unit would be rebuilt the same way for a service it never calls. So the
 * processed configuration of such a unit gets {@code host.target = }{@link #NO_HOST}, a filter
 * no service matches, whatever target the stored configuration names: the unit never binds a
 * host, and a host coming or going leaves its service, its domains and its PASIDs alone.</li>
 * <li>A unit that uses the host keeps its own {@code host.target}, or the component's default
 * {@code (ioasid.vcmd.host=true)}.</li>
 * <li>The stored configuration is not changed: Config Admin, and the {@code deploy/} file it came
 * from, still show what the operator wrote.</li>
 * </ol>
 *
 * <p>How: SCR reads a component's configuration through
 * {@code Configuration.getProcessedProperties}, which runs the Configuration Admin plugins, and
 * takes a property {@code <reference name>.target} as that reference's target. So this one plugin
 * covers configurations from every source (deploy files, Config Admin calls, consoles) and every
 * change of them, live edits included. It overrides an explicit target too, because that is
 * indistinguishable from the default for a Metatype editor that saves every attribute, and no
 * target is of use to a unit that never calls its host.
 *
 * <p>Other ways were weighed. A dynamic reference would leave other units alone but would make
 * a VCMD unit swap its VMM and allocator under PASIDs it has handed out. A reluctant static one
 * ignores a host arriving after the unit (a VCMD unit would never get it) and still rebuilds a
 * unit whose bound host leaves. A default target matching nothing would make every VCMD unit name
 * its host, changing what operators write.
 *
 * <p>It is the bundle's activator, not a component: SCR takes a bundle's components once the bundle
 * is ACTIVE, after its activator has run, and does not read a configuration again when a plugin
 * arrives later, so the plugin has to be there first.
 */
@Header(name = Constants.BUNDLE_ACTIVATOR, value = "${@class}")
public final class VtdHostTarget implements BundleActivator, ConfigurationPlugin {
    /** The target of the {@code host} reference, as a configuration property. */
    static final String HOST_TARGET = "host.target";
    /** A filter no service matches: every service has an objectClass. */
    static final String NO_HOST = "(!(" + Constants.OBJECTCLASS + "=*))";

    private ServiceRegistration<ConfigurationPlugin> registration;

    @Override
    public void start(BundleContext context) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(ConfigurationPlugin.CM_TARGET, new String[] {VtdBackend.PID});
        registration = context.registerService(ConfigurationPlugin.class, this, props);
    }

    @Override
    public void stop(BundleContext context) {
        ServiceRegistration<ConfigurationPlugin> reg = registration;
        registration = null;
        if (reg != null) {
            try {
                reg.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the framework unregisters a stopping bundle's services itself
            }
        }
    }

    /** Called for the configurations of {@link VtdBackend#PID} (the {@code cm.target} above). */
    @Override
    public void modifyConfiguration(ServiceReference<?> reference,
            Dictionary<String, Object> properties) {
        if (!usesHost(properties)) {
            properties.put(HOST_TARGET, NO_HOST);
        }
    }

    /**
     * Whether a unit so configured allocates PASIDs through virtual commands. A value is read as
     * SCR reads it for {@link VtdBackend.Config}: the first element of an array or collection, then
     * a Boolean, text ({@code Boolean.parseBoolean}) or a non-zero number; a missing key takes the
     * attribute's default.
     */
    static boolean usesHost(Dictionary<String, ?> properties) {
        return flag(properties, "caching.mode", false) && flag(properties, "scalable.mode", true)
                && flag(properties, "vcmd", false);
    }

    private static boolean flag(Dictionary<String, ?> properties, String key, boolean absent) {
        Object v = properties.get(key);
        if (v == null) {
            return absent;
        }
        if (v instanceof Collection<?> c) {
            Iterator<?> it = c.iterator();
            v = it.hasNext() ? it.next() : null;
        } else if (v.getClass().isArray()) {
            v = Array.getLength(v) > 0 ? Array.get(v, 0) : null;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof String s) {
            return Boolean.parseBoolean(s);
        }
        if (v instanceof Number n) {
            return n.doubleValue() != 0;
        }
        if (v instanceof Character c) {
            return c != 0;
        }
        return false; // an empty list, or a type SCR refuses (the unit then fails to activate)
    }
}
