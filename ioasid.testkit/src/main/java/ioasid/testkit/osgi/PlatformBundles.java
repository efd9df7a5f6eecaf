package ioasid.testkit.osgi;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Where the bundles of the platform and of the framework services it needs are installed from:
 * one location per bundle, for {@code BundleContext.installBundle}, {@code Bundle.update} or a
 * Pax Exam provisioning option.
 *
 * <p>By default a location is a Maven URL, {@code mvn:org.ioasid/ioasid.core/<version>}, at the
 * version of this kit for the platform's bundles and at the versions the platform was built and
 * tested with for the others; pax-url resolves it from the local Maven repository, where
 * {@code mvn install} of the platform or a dependency on {@code ioasid.testkit.paxexam} put it.
 * When the system property {@value #DIRECTORY} names a directory, every location is a file of
 * that directory instead, named {@code <artifactId>.jar} (or {@code <artifactId>-<version>.jar}
 * where it holds two versions of one artifact): the platform's own build tests the
 * bundles it has just packaged that way, before anything is installed.
 *
 * <p>Usable inside and outside a framework: it needs neither Pax Exam nor OSGi.
 */
public final class PlatformBundles {
    /** System property: a directory of bundle files that replaces the local Maven repository. */
    public static final String DIRECTORY = "ioasid.bundles";

    private static final String GROUP = "org.ioasid";
    private static final Map<String, List<String[]>> SETS = load();

    private PlatformBundles() {
    }

    /** The version of the platform this kit belongs to, and provisions. */
    public static String version() {
        for (String[] c : SETS.get("platform")) {
            if (c[0].equals(GROUP)) {
                return c[2];
            }
        }
        throw new IllegalStateException("no platform bundle in bundles.properties");
    }

    /**
     * The framework services and the platform without backends or shell, in installation order:
     * the OSGi DS, promise and function APIs, Felix SCR, Config Admin, the Log Service API and
     * Felix Log, Felix Metatype, Felix Event Admin, {@code ioasid.api}, {@code ioasid.testkit},
     * {@code ioasid.core}.
     */
    public static List<String> platform() {
        return locations("platform");
    }

    /**
     * Felix Health Checks (API, the Servlet Whiteboard API and servlet API its core imports, the
     * core) and {@code ioasid.health}, in order.
     */
    public static List<String> health() {
        return locations("health");
    }

    /**
     * The web stack, in order: the Servlet Whiteboard and servlet APIs, ASM and SPI Fly, SLF4J 2
     * with its java.util.logging provider (Jetty needs 2; it exports 1.7 too), Commons IO and
     * FileUpload, Felix Inventory, the OWASP encoder, Felix HTTP on Jetty 12, the Felix Web
     * Console and {@code ioasid.webconsole}.
     */
    public static List<String> web() {
        return locations("web");
    }

    /**
     * The platform's HTTP context ({@code ioasid.http}) and Prometheus metrics
     * ({@code ioasid.metrics}) with the Prometheus client bundles, in order; the servlet APIs
     * come with {@link #health()}, the HTTP server is the suite's choice.
     */
    public static List<String> metrics() {
        return locations("metrics");
    }

    /** The Gogo runtime, {@code ioasid.shell}, JLine and {@code ioasid.console}, in order. */
    public static List<String> shell() {
        return locations("shell");
    }

    /**
     * The SLF4J API and its simple binding, a fragment of it (install it, do not start it): what
     * Pax Exam's own bundles log through in the framework.
     */
    public static List<String> logging() {
        return locations("logging");
    }

    /**
     * The location of one of the platform's bundles, by artifact ID: {@code "backend.vtd"},
     * {@code "ioasid.core"}.
     */
    public static String location(String artifactId) {
        return location(GROUP, artifactId, version());
    }

    /** Opens one of the platform's bundles, for {@code Bundle.update(InputStream)}. */
    public static InputStream open(String artifactId) throws IOException {
        return new URL(location(artifactId)).openStream();
    }

    /**
     * The location of any bundle: a Maven URL, or {@code <artifactId>.jar} in the directory
     * {@value #DIRECTORY} names.
     *
     * @throws IllegalStateException when that directory lacks the file
     */
    public static String location(String groupId, String artifactId, String version) {
        String dir = System.getProperty(DIRECTORY);
        if (dir == null || dir.isBlank()) {
            return "mvn:" + groupId + "/" + artifactId + "/" + version;
        }
        // a second version of an artifact the directory holds goes by <artifactId>-<version>.jar
        File versioned = new File(dir, artifactId + "-" + version + ".jar");
        File f = versioned.isFile() ? versioned : new File(dir, artifactId + ".jar");
        if (!f.isFile()) {
            throw new IllegalStateException("missing bundle " + f + " (" + DIRECTORY + "=" + dir
                    + "): copy " + groupId + ":" + artifactId + ":" + version + " there");
        }
        return f.toURI().toString();
    }

    private static List<String> locations(String set) {
        List<String> out = new ArrayList<>();
        for (String[] c : SETS.get(set)) {
            out.add(location(c[0], c[1], c[2]));
        }
        return out;
    }

    /** The sets of bundles.properties, each a list of {groupId, artifactId, version}. */
    private static Map<String, List<String[]>> load() {
        Properties p = new Properties();
        try (InputStream in = PlatformBundles.class.getResourceAsStream("bundles.properties")) {
            if (in == null) {
                throw new IllegalStateException("bundles.properties missing from the test kit");
            }
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, List<String[]>> sets = new LinkedHashMap<>();
        for (String name : p.stringPropertyNames()) {
            List<String[]> coordinates = new ArrayList<>();
            for (String c : p.getProperty(name).split(",")) {
                String[] gav = c.trim().split(":");
                if (gav.length != 3 || gav[2].contains("${")) {
                    throw new IllegalStateException("bundles.properties: bad coordinates " + c);
                }
                coordinates.add(gav);
            }
            sets.put(name, Collections.unmodifiableList(coordinates));
        }
        return Collections.unmodifiableMap(sets);
    }

    /**
     * The coordinates of the bundles of {@link #platform()}, {@link #shell()}, {@link #health()},
     * {@link #web()}, {@link #metrics()} and {@link #logging()},
     * {@code groupId:artifactId:version}, for a check that each is where it will be looked for.
     */
    public static List<String> coordinates() {
        List<String> out = new ArrayList<>();
        for (List<String[]> set : SETS.values()) {
            for (String[] c : set) {
                out.add(String.join(":", c));
            }
        }
        return out;
    }
}
