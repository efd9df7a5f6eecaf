package ioasid.testkit.paxexam;

import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.composite;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.CoreOptions.workingDirectory;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.ops4j.pax.exam.Option;

import ioasid.testkit.osgi.PlatformBundles;
import ioasid.testkit.osgi.WebConsole;

/**
 * Pax Exam options that start the platform in Felix, for a suite's {@code @Configuration}:
 *
 * <pre>{@code
 * @Configuration
 * public Option[] config() {
 *     return new Option[] {IoasidOptions.platform(), IoasidOptions.backends(),
 *         IoasidOptions.bundleOf(MyBackend.class)};
 * }
 * }</pre>
 *
 * <p>Bundles are installed from the locations {@link PlatformBundles} gives: by default Maven URLs
 * at this kit's version, which pax-url resolves from the local Maven repository and nowhere else
 * (offline), so a suite runs exactly what its build resolved; {@code -Dmaven.repo.local}, which
 * Maven passes on to the tests, is honoured. Any {@code org.ops4j.pax.url.mvn.*} system property
 * already set wins over the kit's choice.
 *
 * <p>Run suites with the {@link IsolatedContainerFactory} and a fresh framework per test method
 * ({@code @ExamReactorStrategy(PerMethod.class)}) when bundles come and go: Pax Exam's probe
 * imports every package dynamically and can keep a stopped bundle's packages wired.
 */
public final class IoasidOptions {
    private static final String PAX_URL = "org.ops4j.pax.url.mvn.";
    /**
     * The parent of the platform's loggers (java.util.logging, through System.Logger), held:
     * java.util.logging keeps loggers weakly and would forget a level set on this one.
     */
    private static final Logger PLATFORM_LOGS = Logger.getLogger("ioasid");

    private IoasidOptions() {
    }

    /**
     * The platform without backends: JUnit inside the framework, the OSGi DS, promise and
     * function APIs, Felix SCR, Config Admin, the Log Service and Felix Log, Metatype, Event
     * Admin, {@code ioasid.api}, this kit, and {@code ioasid.core}; with quiet logging (Pax
     * Exam's bundles log through SLF4J simple at WARN instead of Pax Logging, which the kit's
     * {@code exam.properties} leaves out, Felix's own messages below ERROR are silenced, and the
     * platform's {@code ioasid.*} loggers are set to WARNING unless java.util.logging is
     * configured for the run) and
     * {@code pax.exam.osgi.unresolved.fail=true}, so that a bundle that does not resolve fails
     * the test instead of being skipped.
     */
    public static Option platform() {
        List<Option> options = new ArrayList<>();
        options.add(systemProperty("pax.exam.osgi.unresolved.fail").value("true"));
        options.add(systemProperty("org.ops4j.pax.logging.DefaultServiceLog.level")
                .value("WARN"));
        options.add(frameworkProperty("felix.log.level").value("1"));
        quietPlatformLogs();
        options.add(workingDirectory(workingDirectoryPath()));
        String repository = System.getProperty("maven.repo.local");
        if (repository != null && !repository.isBlank()) {
            options.add(paxUrl("localRepository", new File(repository).getAbsolutePath()));
        }
        options.add(paxUrl("offline", "true"));
        options.add(paxUrl("useFallbackRepositories", "false"));
        options.add(systemProperty("org.slf4j.simpleLogger.defaultLogLevel").value(
                System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn")));
        List<String> logging = PlatformBundles.logging();
        options.add(bundle(logging.get(0)));
        options.add(bundle(logging.get(1)).noStart());
        options.add(junitBundles());
        for (String location : PlatformBundles.platform()) {
            options.add(bundle(location));
        }
        return composite(options.toArray(new Option[0]));
    }

    /**
     * The Gogo runtime, the platform's {@code ioasid:} and {@code iommu:} commands and its
     * console (scripts only: no terminal); run scripts with
     * {@link ioasid.testkit.osgi.Shell#script}.
     */
    public static Option shell() {
        List<Option> options = new ArrayList<>();
        for (String location : PlatformBundles.shell()) {
            options.add(bundle(location));
        }
        return composite(options.toArray(new Option[0]));
    }

    /**
     * The platform's health checks: Felix Health Checks and {@code ioasid.health}, whose
     * readiness monitor registers the {@code felix.hc.readiness} condition while every
     * configured IOMMU instance is up; wait for it with
     * {@link ioasid.testkit.osgi.IoasidPlatform#awaitReady}.
     */
    public static Option health() {
        List<Option> options = new ArrayList<>();
        for (String location : PlatformBundles.health()) {
            options.add(bundle(location));
        }
        return composite(options.toArray(new Option[0]));
    }

    /** The framework property the HTTP port of {@link #webConsole()} is in. */
    public static final String HTTP_PORT = "org.osgi.service.http.port";

    /**
     * The web stack with the platform's console pages ({@link PlatformBundles#web()}): Felix HTTP
     * on Jetty 12 listening on 127.0.0.1 at a free port (read it in the test from the framework
     * property {@value #HTTP_PORT}), the Felix Web Console at {@code /system/console}, and
     * {@code ioasid.webconsole}. The test installs them with
     * {@link ioasid.testkit.osgi.WebConsole#start}, in its {@code @Before}: they bring SLF4J 2,
     * which must not be there before Pax Exam's own bundles are wired to the SLF4J 1.7 of
     * {@link #platform()} (its binding would take 2's API). The console is locked until the test
     * creates the configuration {@code ioasid.http} ({@code username}, {@code password} as
     * {@code {sha-256}<Base64 of the SHA-256 of the password>}, see
     * {@link ioasid.testkit.osgi.WebConsole#credentials}), which the pages' bundle copies to the
     * console: it never answers to its built-in default password. The build must have
     * {@code org.slf4j:slf4j-api} 2 in its local repository (it cannot be a dependency of this
     * kit beside 1.7).
     */
    public static Option webConsole() {
        List<Option> options = new ArrayList<>();
        options.add(frameworkProperty("org.apache.felix.http.host").value("127.0.0.1"));
        options.add(frameworkProperty(HTTP_PORT).value(String.valueOf(freePort())));
        options.add(frameworkProperty("felix.webconsole.password").value(locked()));
        options.add(frameworkProperty(WebConsole.BUNDLES).value(
                String.join(",", PlatformBundles.web())));
        return composite(options.toArray(new Option[0]));
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free port on 127.0.0.1", e);
        }
    }

    /** A password hash no password has. */
    private static String locked() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return "{sha-256}" + Base64.getEncoder().encodeToString(b);
    }

    /**
     * The platform's HTTP endpoints: {@code ioasid.http}, the Servlet Whiteboard context
     * {@code ioasid} that asks for the credentials of the configuration {@code ioasid.http} and
     * puts the health checks at {@code /system/health}, and {@code ioasid.metrics}, the
     * Prometheus text at {@code /metrics}, with the Prometheus client bundles. Use it with
     * {@link #health()}, which brings the servlet APIs, and a Servlet Whiteboard implementation
     * of the suite's choice (Felix HTTP Jetty 12), bound to the loopback address.
     */
    public static Option metrics() {
        List<Option> options = new ArrayList<>();
        for (String location : PlatformBundles.metrics()) {
            options.add(bundle(location));
        }
        return composite(options.toArray(new Option[0]));
    }

    /** The SMMUv3 backend bundle; its instances come from configurations. */
    public static Option smmuv3() {
        return bundle(PlatformBundles.location("backend.smmuv3"));
    }

    /** The VT-d backend bundle; its instances come from configurations. */
    public static Option vtd() {
        return bundle(PlatformBundles.location("backend.vtd"));
    }

    /** The virtio-iommu backend bundle; its instances come from configurations. */
    public static Option virtio() {
        return bundle(PlatformBundles.location("backend.virtio"));
    }

    /** The three backend bundles. */
    public static Option backends() {
        return composite(smmuv3(), vtd(), virtio());
    }

    /**
     * The bundle jar a class comes from: the project's own bundle, when the suite runs after
     * {@code package} (Maven Failsafe puts the jar, not the classes directory, on the class path).
     *
     * @throws IllegalStateException when the class does not come from a jar
     */
    public static Option bundleOf(Class<?> type) {
        CodeSource source = type.getProtectionDomain().getCodeSource();
        Path jar;
        try {
            jar = source == null ? null : Path.of(source.getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(type.getName() + ": " + e.getMessage(), e);
        }
        if (jar == null || !Files.isRegularFile(jar)) {
            throw new IllegalStateException(type.getName() + " comes from " + jar
                    + ", not a bundle jar: run the suite after package (maven-failsafe-plugin)");
        }
        return bundle(jar.toUri().toString());
    }

    /**
     * The platform's own INFO messages (a backend left, a configuration applied) are for
     * operators: a test run shows warnings and errors only, unless the run configures
     * java.util.logging itself or the level was set.
     */
    private static void quietPlatformLogs() {
        if (System.getProperty("java.util.logging.config.file") == null
                && System.getProperty("java.util.logging.config.class") == null
                && PLATFORM_LOGS.getLevel() == null) {
            PLATFORM_LOGS.setLevel(Level.WARNING);
        }
    }

    private static Option paxUrl(String key, String value) {
        return systemProperty(PAX_URL + key).value(System.getProperty(PAX_URL + key, value));
    }

    /** Pax Exam's files: under target/ when run by Maven, else in the temporary directory. */
    private static String workingDirectoryPath() {
        File target = new File("target");
        File dir = target.isDirectory() ? new File(target, "pax-exam")
                : new File(System.getProperty("java.io.tmpdir"), "pax-exam");
        return dir.getAbsolutePath();
    }
}
