package ioasid.http.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.service.servlet.context.ServletContextHelper;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

class IoasidHttpContextTest {
    static final String HASH = Credentials.hash("s3cret");

    /** A request with a method and an Authorization header; records its attributes. */
    static final class Request {
        final Map<String, Object> attributes = new HashMap<>();
        final HttpServletRequest proxy;

        Request(String method, String authorization) {
            proxy = (HttpServletRequest) Proxy.newProxyInstance(
                    HttpServletRequest.class.getClassLoader(),
                    new Class<?>[] {HttpServletRequest.class}, (p, m, a) -> {
                        switch (m.getName()) {
                            case "getHeader":
                                return "Authorization".equalsIgnoreCase((String) a[0])
                                        ? authorization : null;
                            case "getMethod":
                                return method;
                            case "setAttribute":
                                attributes.put((String) a[0], a[1]);
                                return null;
                            default:
                                throw new UnsupportedOperationException(m.getName());
                        }
                    });
        }
    }

    /** A response recording status, headers and body. */
    static final class Response {
        int status = 200;
        final Map<String, String> headers = new HashMap<>();
        final StringWriter body = new StringWriter();
        boolean committed;
        final HttpServletResponse proxy = (HttpServletResponse) Proxy.newProxyInstance(
                HttpServletResponse.class.getClassLoader(),
                new Class<?>[] {HttpServletResponse.class}, (p, m, a) -> {
                    switch (m.getName()) {
                        case "setStatus":
                            status = (Integer) a[0];
                            return null;
                        case "setHeader":
                            headers.put((String) a[0], (String) a[1]);
                            return null;
                        case "setContentType":
                            return null;
                        case "getWriter":
                            return new PrintWriter(body, true);
                        case "flushBuffer":
                            committed = true;
                            return null;
                        default:
                            throw new UnsupportedOperationException(m.getName());
                    }
                });
    }

    static IoasidHttpContext context(String username, String password, boolean configured) {
        Map<String, Object> props = new HashMap<>();
        if (configured) {
            props.put("service.pid", IoasidHttpContext.PID);
        }
        return new IoasidHttpContext(config(username, password), props);
    }

    static IoasidHttpContext.Config config(String username, String password) {
        return (IoasidHttpContext.Config) Proxy.newProxyInstance(
                IoasidHttpContext.Config.class.getClassLoader(),
                new Class<?>[] {IoasidHttpContext.Config.class}, (p, m, a) -> {
                    switch (m.getName()) {
                        case "username":
                            return username;
                        case "password":
                            return password;
                        default:
                            return m.getDefaultValue();
                    }
                });
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password)
                .getBytes(StandardCharsets.UTF_8));
    }

    static Response call(IoasidHttpContext ctx, String method, String authorization)
            throws Exception {
        Response res = new Response();
        Request req = new Request(method, authorization);
        boolean passed = ctx.handleSecurity(req.proxy, res.proxy);
        assertEquals(passed, res.status == 200, "passed only with 200: " + res.status);
        if (passed) {
            assertEquals("admin", req.attributes.get(ServletContextHelper.REMOTE_USER));
            assertEquals("BASIC", req.attributes.get(ServletContextHelper.AUTHENTICATION_TYPE));
            assertEquals("nosniff", res.headers.get("X-Content-Type-Options"));
        } else {
            assertTrue(res.committed, "a refusal is sent at once");
        }
        return res;
    }

    @Test
    @DisplayName("rule 1: the right user and password pass, anything else is 401 with a challenge")
    void basicAuthentication() throws Exception {
        IoasidHttpContext ctx = context("admin", HASH, true);
        assertEquals(200, call(ctx, "GET", basic("admin", "s3cret")).status);
        assertEquals(200, call(ctx, "GET", "basic " + basic("admin", "s3cret").substring(6))
                .status, "the scheme is case-insensitive");
        for (String bad : new String[] {null, "", "Basic", "Basic !!!", basic("admin", "s3cre"),
            basic("admin", "s3cret "), basic("Admin", "s3cret"), basic("", "s3cret"),
            "Bearer " + basic("admin", "s3cret").substring(6),
            "Basic " + Base64.getEncoder().encodeToString("admins3cret".getBytes()),
            basic("admin", HASH)}) {
            Response r = call(ctx, "GET", bad);
            assertEquals(401, r.status, bad);
            assertEquals(IoasidHttpContext.CHALLENGE, r.headers.get("WWW-Authenticate"), bad);
        }
    }

    @Test
    @DisplayName("rule 1: a password with a colon and non-ASCII characters, in UTF-8")
    void utf8AndColons() throws Exception {
        IoasidHttpContext ctx = context("opérateur", Credentials.hash("a:b€"), true);
        Response r = new Response();
        assertTrue(ctx.handleSecurity(new Request("GET", basic("opérateur", "a:b€")).proxy,
                r.proxy));
        assertEquals(401, call(ctx, "GET", basic("opérateur", "a")).status);
    }

    @Test
    @DisplayName("rule 2: no configuration, or one that cannot be used, refuses every request")
    void closedWithoutUsableConfiguration() throws Exception {
        assertEquals(401, call(context("admin", HASH, false), "GET", basic("admin", "s3cret"))
                .status, "defaults alone are no configuration");
        for (String password : new String[] {"", "s3cret", "{sha-256}", "{sha-256}!!",
            "{sha-256}" + Base64.getEncoder().encodeToString(new byte[16]), "{md5}" + HASH}) {
            IoasidHttpContext ctx = context("admin", password, true);
            assertEquals(401, call(ctx, "GET", basic("admin", "s3cret")).status, password);
            assertEquals(401, call(ctx, "GET", basic("admin", password)).status,
                    "a plain password is not taken as the hash: " + password);
        }
        assertEquals(401, call(context("", HASH, true), "GET", basic("", "s3cret")).status);
    }

    @Test
    @DisplayName("rule 2: a configuration change applies to the next request")
    void modified() throws Exception {
        IoasidHttpContext ctx = context("admin", HASH, true);
        assertEquals(200, call(ctx, "GET", basic("admin", "s3cret")).status);
        ctx.modified(config("admin", Credentials.hash("other")),
                Map.of("service.pid", IoasidHttpContext.PID));
        assertEquals(401, call(ctx, "GET", basic("admin", "s3cret")).status);
        assertEquals(200, call(ctx, "GET", basic("admin", "other")).status);
    }

    @Test
    @DisplayName("rule 3: only GET and HEAD, and only after authentication")
    void readOnly() throws Exception {
        IoasidHttpContext ctx = context("admin", HASH, true);
        assertEquals(200, call(ctx, "HEAD", basic("admin", "s3cret")).status);
        for (String m : new String[] {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"}) {
            Response r = call(ctx, m, basic("admin", "s3cret"));
            assertEquals(405, r.status, m);
            assertEquals("GET, HEAD", r.headers.get("Allow"));
            assertEquals(401, call(ctx, m, null).status, "unauthenticated first: " + m);
        }
    }

    @Test
    @DisplayName("Credentials: errors name what is wrong in one line")
    void credentialErrors() {
        assertEquals("no password is set",
                assertThrows(IllegalArgumentException.class, () -> Credentials.of("a", ""))
                        .getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Credentials.of("a", "x"))
                .getMessage().contains("a plain password is never accepted"));
        assertEquals("password after {sha-256} is 3 bytes, not the 32 of a SHA-256",
                assertThrows(IllegalArgumentException.class,
                        () -> Credentials.of("a", "{sha-256}AAAA")).getMessage());
        assertFalse(Credentials.of("a", HASH).accept(null));
    }

    @Test
    @DisplayName("the health servlet's configuration puts it in this context, read-only")
    void healthServletConfiguration() {
        var p = HealthEndpoint.properties();
        assertEquals("ioasid", p.get("servletContextName"));
        assertEquals("/system/health", p.get("servletPath"));
        assertEquals(Boolean.TRUE, p.get("disable.request.configuration"));
        assertEquals("", p.get("cors.accessControlAllowOrigin"));
    }
}
