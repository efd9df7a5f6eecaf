package ioasid.testkit.osgi;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Hashtable;
import java.util.List;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The web stack inside a test's framework, as {@code IoasidOptions.webConsole()} prepares it:
 * installs and starts its bundles, and sets the console's credentials.
 */
public final class WebConsole {
    /** The framework property with the locations of the web stack's bundles, in order. */
    public static final String BUNDLES = "ioasid.testkit.web.bundles";
    /** The configuration the console's credentials come from. */
    public static final String PID = "ioasid.http";

    private WebConsole() {
    }

    /**
     * Installs the web stack's bundles, then starts them (fragments aside).
     *
     * @return the HTTP port, from the framework property {@code org.osgi.service.http.port}
     * @throws IllegalStateException when the option was not given
     */
    public static int start(BundleContext context) throws BundleException {
        String locations = context.getProperty(BUNDLES);
        if (locations == null) {
            throw new IllegalStateException("no " + BUNDLES + ": add IoasidOptions.webConsole()");
        }
        List<Bundle> installed = new ArrayList<>();
        for (String location : locations.split(",")) {
            installed.add(context.installBundle(location));
        }
        for (Bundle b : installed) {
            if (b.getHeaders().get("Fragment-Host") == null) {
                b.start();
            }
        }
        return Integer.parseInt(context.getProperty("org.osgi.service.http.port"));
    }

    /** Creates or updates {@value #PID} with the user and the hash of the password. */
    public static void credentials(ConfigurationAdmin admin, String user, String password)
            throws IOException {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("username", user);
        p.put("password", hash(password));
        admin.getConfiguration(PID, "?").update(p);
    }

    /** {@code {sha-256}} and the Base64 of the SHA-256 of the password's UTF-8 bytes. */
    public static String hash(String password) {
        try {
            return "{sha-256}" + Base64.getEncoder().encodeToString(MessageDigest
                    .getInstance("SHA-256").digest(password.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }
}
