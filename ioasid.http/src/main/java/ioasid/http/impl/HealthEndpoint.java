package ioasid.http.impl;

import java.io.IOException;
import java.util.Dictionary;
import java.util.Hashtable;

import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * Puts the health check core's servlet at {@code /system/health} in the {@code ioasid} context
 * (so behind its credentials), by the servlet's own factory configuration: its
 * {@code servletContextName} selects the context by name.
 *
 *  1. Read-only: the servlet answers GET alone, ignores request parameters other than the
 *     format ({@code disable.request.configuration}), and sends no CORS header.
 *  2. Without tags in the URL it runs the platform's checks (tag {@code ioasid}).
 *  3. The configuration lives as long as this bundle: created on activation, deleted on
 *     deactivation, so the servlet never outlives the context that guards it.
 */
@Component(immediate = true)
public final class HealthEndpoint {
    /** The health check core's servlet, a factory configuration per servlet. */
    static final String SERVLET_PID = "org.apache.felix.hc.core.impl.servlet.HealthCheckExecutorServlet";
    /** The name of this servlet's factory configuration. */
    static final String NAME = "ioasid";
    static final String PATH = "/system/health";

    private final ConfigurationAdmin admin;

    @Activate
    public HealthEndpoint(@Reference ConfigurationAdmin admin) throws IOException {
        this.admin = admin;
        admin.getFactoryConfiguration(SERVLET_PID, NAME, "?").updateIfDifferent(properties());
    }

    @Deactivate
    void deactivate() throws IOException {
        admin.getFactoryConfiguration(SERVLET_PID, NAME, "?").delete();
    }

    static Dictionary<String, Object> properties() {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("servletContextName", IoasidHttpContext.NAME);
        p.put("servletPath", PATH);
        p.put("tags", new String[] {"ioasid"});
        p.put("disable.request.configuration", Boolean.TRUE);
        p.put("cors.accessControlAllowOrigin", "");
        return p;
    }
}
