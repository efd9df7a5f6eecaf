package ioasid.http.impl;

import java.io.IOException;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.servlet.context.ServletContextHelper;
import org.osgi.service.servlet.whiteboard.HttpWhiteboardConstants;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * The Servlet Whiteboard context {@code ioasid}, where the platform's operator endpoints live
 * (the health checks at {@code /system/health}, the metrics at {@code /metrics}). A servlet joins
 * it with {@code osgi.http.whiteboard.context.select=(osgi.http.whiteboard.context.name=ioasid)}.
 *
 *  1. Every request needs HTTP Basic credentials matching the configuration {@code ioasid.http}
 *     ({@link Credentials}); otherwise 401 with a {@code WWW-Authenticate} challenge.
 *  2. Without that configuration, or with one that cannot be used, every request is 401: the
 *     endpoints are never open. A configuration that cannot be used is logged in one line.
 *  3. The endpoints are read-only: an authenticated request other than GET or HEAD is 405,
 *     whatever servlet it is for.
 */
@Component(service = ServletContextHelper.class, configurationPid = IoasidHttpContext.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL,
        property = {HttpWhiteboardConstants.HTTP_WHITEBOARD_CONTEXT_NAME + "="
                + IoasidHttpContext.NAME,
            HttpWhiteboardConstants.HTTP_WHITEBOARD_CONTEXT_PATH + "=/"})
@Designate(ocd = IoasidHttpContext.Config.class)
public final class IoasidHttpContext extends ServletContextHelper {
    public static final String PID = "ioasid.http";
    /** The context's name. */
    public static final String NAME = "ioasid";
    /** The filter a servlet puts in osgi.http.whiteboard.context.select to join the context. */
    public static final String SELECT = "(" + HttpWhiteboardConstants.HTTP_WHITEBOARD_CONTEXT_NAME
            + "=" + NAME + ")";
    static final String CHALLENGE = "Basic realm=\"ioasid\", charset=\"UTF-8\"";

    private static final System.Logger LOG = System.getLogger("ioasid.http");

    @ObjectClassDefinition(name = "IOASID HTTP credentials", description = "The user of the "
            + "platform's HTTP endpoints (health, metrics, Web Console)")
    public @interface Config {
        @AttributeDefinition(name = "Username")
        String username() default "admin";

        @AttributeDefinition(name = "Password", type = AttributeType.PASSWORD,
                description = "{sha-256} followed by the Base64 of the SHA-256 of the UTF-8 "
                        + "password; empty: every request is refused")
        String password() default "";
    }

    /** Null while every request is refused (rule 2). */
    private volatile Credentials credentials;

    @Activate
    public IoasidHttpContext(Config config, Map<String, Object> properties) {
        modified(config, properties);
    }

    @Modified
    void modified(Config config, Map<String, Object> properties) {
        if (!properties.containsKey("service.pid")) {
            credentials = null;
            LOG.log(System.Logger.Level.INFO, "no configuration " + PID + ": the HTTP endpoints "
                    + "answer every request with 401");
            return;
        }
        try {
            credentials = Credentials.of(config.username(), config.password());
        } catch (IllegalArgumentException e) {
            credentials = null;
            LOG.log(System.Logger.Level.WARNING, "configuration " + PID + ": " + e.getMessage()
                    + "; the HTTP endpoints answer every request with 401");
        }
    }

    @Override
    public boolean handleSecurity(HttpServletRequest request, HttpServletResponse response)
            throws IOException {
        Credentials c = credentials;
        if (c == null || !c.accept(request.getHeader("Authorization"))) {
            response.setHeader("WWW-Authenticate", CHALLENGE);
            refuse(response, HttpServletResponse.SC_UNAUTHORIZED, "credentials required");
            return false;
        }
        String method = request.getMethod();
        if (!"GET".equals(method) && !"HEAD".equals(method)) {
            response.setHeader("Allow", "GET, HEAD");
            refuse(response, HttpServletResponse.SC_METHOD_NOT_ALLOWED, "read-only");
            return false;
        }
        // what is served here is data, never a page to render: no content sniffing
        response.setHeader("X-Content-Type-Options", "nosniff");
        request.setAttribute(REMOTE_USER, c.username);
        request.setAttribute(AUTHENTICATION_TYPE, HttpServletRequest.BASIC_AUTH);
        return true;
    }

    private static void refuse(HttpServletResponse response, int status, String text)
            throws IOException {
        response.setStatus(status);
        response.setContentType("text/plain;charset=UTF-8");
        response.getWriter().println(status + " " + text);
        response.flushBuffer();
    }
}
