package ioasid.webconsole.impl;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Collections;
import java.util.Hashtable;
import java.util.Map;

import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;

/**
 * The Web Console logs in with the platform's credentials: the configuration {@code ioasid.http}
 * ({@code username}, {@code password} as {@code {sha-256}<Base64 of the digest>}, the form the
 * console reads too) is copied to the console's own configuration, and every change with it.
 * When {@code ioasid.http} is deleted the console's password becomes a hash no password has:
 * never the console's built-in default.
 */
@Component(configurationPid = ConsoleCredentials.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE, immediate = true)
public final class ConsoleCredentials {
    static final String PID = "ioasid.http";
    /** The Felix Web Console's configuration. */
    static final String CONSOLE_PID = "org.apache.felix.webconsole.internal.servlet.OsgiManager";
    static final String DEFAULT_USER = "admin";
    /** ComponentConstants.DEACTIVATION_REASON_CONFIGURATION_DELETED (DS 1.1 and later). */
    static final int CONFIGURATION_DELETED = 4;

    @Reference
    ConfigurationAdmin admin;

    @Activate
    @Modified
    void apply(Map<String, Object> config) throws IOException {
        Object user = config.get("username");
        Object password = config.get("password");
        copy(user instanceof String && !((String) user).isBlank() ? (String) user
                : DEFAULT_USER, password instanceof String ? (String) password : locked());
    }

    @Deactivate
    void deactivate(int reason) throws IOException {
        if (reason == CONFIGURATION_DELETED) {
            copy(DEFAULT_USER, locked());
        }
    }

    private void copy(String user, String password) throws IOException {
        Configuration c = admin.getConfiguration(CONSOLE_PID, "?");
        Hashtable<String, Object> p = new Hashtable<>();
        if (c.getProperties() != null) {
            for (String k : Collections.list(c.getProperties().keys())) {
                p.put(k, c.getProperties().get(k));
            }
        }
        p.put("username", user);
        p.put("password", password);
        c.updateIfDifferent(p);
    }

    static String locked() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return "{sha-256}" + Base64.getEncoder().encodeToString(b);
    }
}
