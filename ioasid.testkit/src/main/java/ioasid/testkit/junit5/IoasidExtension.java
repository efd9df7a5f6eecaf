package ioasid.testkit.junit5;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.iommu.dto.BackendDTO;
import ioasid.testkit.osgi.IoasidEvents;
import ioasid.testkit.osgi.IoasidPlatform;

/**
 * A JUnit 5 extension for suites that run inside a framework with the platform. Every test
 * method gets a platform that is ready, and after it the framework is as the test found it.
 *
 * <p><b>Parameters.</b> A test method, or a {@code @BeforeEach} or {@code @AfterEach} method,
 * may declare an {@link IoasidPlatform} (the platform's services are registered, looked up with
 * the test bundle's context; one instance per test) and an {@link IoasidEvents} (recording every
 * IOASID event from the test's start, closed after it).
 *
 * <p><b>After each test</b>, whether it passed or failed, in this order: bundles installed during
 * the test are uninstalled, bundles that were active before it and are not now are started
 * again, and bundles an update or uninstall left pending are refreshed; configurations created
 * during the test are deleted, changed ones get their properties back and deleted ones are
 * created again; then it waits until the IOMMU core lists the backends it listed before the test,
 * in the same states. A suite sharing one framework, as bnd's tester runs it, so gets what a
 * fresh framework per test gives under Pax Exam, at the cost of a configuration round trip.
 * What lives in the IOASID core's memory stays: sets and IDs a test made, unless it freed them
 * (name sets per test). A backend configured in a test takes its groups, domains and PASIDs with
 * it when its configuration is deleted.
 *
 * <pre>{@code
 * @ExtendWith(IoasidExtension.class)
 * class MyBackendTest {
 *     @BeforeEach
 *     void setUp(IoasidPlatform platform) throws Exception {
 *         platform.configure(smmu("smmu0", "0000:00:01.0;pasid=16"),
 *                 backend("my.backend.pid", "my0", "dev0;pasid=20"));
 *         platform.awaitBackends("smmu0", "my0");
 *     }
 *
 *     @Test
 *     void swaps(IoasidPlatform platform) throws Exception {
 *         platform.swap(platform.bundle("my.backend"));   // leaves once, returns once
 *     }
 * }
 * }</pre>
 *
 * <p>Waits last {@link IoasidPlatform#TIMEOUT_MS}; a platform that does not come back fails the
 * test that left it so.
 */
public final class IoasidExtension implements BeforeEachCallback, AfterEachCallback,
        ParameterResolver {
    private static final ExtensionContext.Namespace NS =
            ExtensionContext.Namespace.create(IoasidExtension.class);
    /** Properties Config Admin sets itself; not compared, not restored. */
    private static final List<String> MANAGED = List.of(Constants.SERVICE_PID,
            ConfigurationAdmin.SERVICE_FACTORYPID, ConfigurationAdmin.SERVICE_BUNDLELOCATION);

    @Override
    public void beforeEach(ExtensionContext extension) throws Exception {
        Snapshot before = Snapshot.take(IoasidPlatform.ready(context(extension)));
        extension.getStore(NS).put(Snapshot.class, before);
    }

    @Override
    public void afterEach(ExtensionContext extension) throws Exception {
        ExtensionContext.Store store = extension.getStore(NS);
        @SuppressWarnings("unchecked")
        List<IoasidEvents> recorders = store.remove(Recorders.class, List.class);
        if (recorders != null) {
            recorders.forEach(IoasidEvents::close);
        }
        Snapshot before = store.remove(Snapshot.class, Snapshot.class);
        if (before != null) {
            before.restore();
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext extension) {
        Class<?> type = parameter.getParameter().getType();
        return type == IoasidPlatform.class || type == IoasidEvents.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext extension) {
        Class<?> type = parameter.getParameter().getType();
        ExtensionContext.Store store = extension.getStore(NS);
        if (type == IoasidPlatform.class) {
            Snapshot s = store.get(Snapshot.class, Snapshot.class);
            return s != null ? s.platform : IoasidPlatform.ready(context(extension));
        }
        if (extension.getTestMethod().isEmpty()) {
            throw new ParameterResolutionException("an IoasidEvents recorder is per test: "
                    + "declare it on a test, @BeforeEach or @AfterEach method");
        }
        IoasidEvents events = IoasidEvents.record(context(extension));
        @SuppressWarnings("unchecked")
        List<IoasidEvents> recorders = store.getOrComputeIfAbsent(Recorders.class,
                k -> new ArrayList<IoasidEvents>(), List.class);
        recorders.add(events);
        return events;
    }

    /** The context of the bundle the test class was loaded from. */
    private static BundleContext context(ExtensionContext extension) {
        Class<?> test = extension.getRequiredTestClass();
        Bundle bundle = FrameworkUtil.getBundle(test);
        BundleContext context = bundle == null ? null : bundle.getBundleContext();
        if (context == null) {
            throw new ExtensionConfigurationException(test.getName() + " is not in an active "
                    + "bundle: IoasidExtension runs inside an OSGi framework only");
        }
        return context;
    }

    /** Key of the recorders handed out during a test. */
    private static final class Recorders {
    }

    /** What a test may change, as it was before the test. */
    private static final class Snapshot {
        final IoasidPlatform platform;
        final Map<Long, Boolean> active = new HashMap<>();
        final Map<String, Config> configs = new HashMap<>();
        final Map<String, String> backends = new TreeMap<>();

        private Snapshot(IoasidPlatform platform) {
            this.platform = platform;
        }

        static Snapshot take(IoasidPlatform platform) throws IOException {
            Snapshot s = new Snapshot(platform);
            for (Bundle b : platform.context().getBundles()) {
                s.active.put(b.getBundleId(), b.getState() == Bundle.ACTIVE);
            }
            for (Configuration c : configurations(platform.configurationAdmin())) {
                s.configs.put(c.getPid(), new Config(c.getFactoryPid(), c.getProperties()));
            }
            s.backends.putAll(backends(platform));
            return s;
        }

        void restore() throws Exception {
            BundleContext context = platform.context();
            for (Bundle b : context.getBundles()) {
                if (!active.containsKey(b.getBundleId())) {
                    b.uninstall();
                }
            }
            for (Bundle b : context.getBundles()) {
                if (Boolean.TRUE.equals(active.get(b.getBundleId()))
                        && b.getState() != Bundle.ACTIVE) {
                    start(b);
                }
            }
            FrameworkWiring wiring = context.getBundle(Constants.SYSTEM_BUNDLE_ID)
                    .adapt(FrameworkWiring.class);
            if (!wiring.getRemovalPendingBundles().isEmpty()) {
                IoasidPlatform.refresh(context,
                        wiring.getRemovalPendingBundles().toArray(new Bundle[0]));
            }
            // the platform's services may be new ones after a refresh
            ConfigurationAdmin ca = IoasidPlatform.ready(context).configurationAdmin();
            Map<String, Configuration> now = new HashMap<>();
            for (Configuration c : configurations(ca)) {
                now.put(c.getPid(), c);
            }
            for (Map.Entry<String, Configuration> c : now.entrySet()) {
                Config was = configs.get(c.getKey());
                if (was == null) {
                    c.getValue().delete();
                } else if (!was.equals(new Config(c.getValue().getFactoryPid(),
                        c.getValue().getProperties()))) {
                    c.getValue().update(was.dictionary());
                }
            }
            for (Map.Entry<String, Config> c : configs.entrySet()) {
                if (!now.containsKey(c.getKey())) {
                    recreate(ca, c.getKey(), c.getValue());
                }
            }
            IoasidPlatform after = IoasidPlatform.ready(context);
            IoasidPlatform.await("the backends " + backends + " as before the test",
                    () -> backends.equals(backends(after)));
        }

        private static void start(Bundle b) throws BundleException {
            if (b.getHeaders().get(Constants.FRAGMENT_HOST) == null) {
                b.start();
            }
        }

        private static void recreate(ConfigurationAdmin ca, String pid, Config was)
                throws IOException {
            Configuration c;
            if (was.factoryPid == null) {
                c = ca.getConfiguration(pid, "?");
            } else if (pid.startsWith(was.factoryPid + "~")) {
                c = ca.getFactoryConfiguration(was.factoryPid,
                        pid.substring(was.factoryPid.length() + 1), "?");
            } else {
                c = ca.createFactoryConfiguration(was.factoryPid, "?");
            }
            c.update(was.dictionary());
        }

        private static List<Configuration> configurations(ConfigurationAdmin ca)
                throws IOException {
            try {
                Configuration[] all = ca.listConfigurations(null);
                return all == null ? List.of() : Arrays.asList(all);
            } catch (InvalidSyntaxException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Name to state of every backend the IOMMU core lists. */
        private static Map<String, String> backends(IoasidPlatform platform) {
            Map<String, String> out = new TreeMap<>();
            for (BackendDTO b : platform.iommu().backends()) {
                out.put(b.name, b.state);
            }
            return out;
        }
    }

    /** A configuration's factory PID and properties, compared deeply (arrays by content). */
    private static final class Config {
        final String factoryPid;
        final Map<String, Object> properties = new TreeMap<>();

        Config(String factoryPid, Dictionary<String, Object> properties) {
            this.factoryPid = factoryPid;
            if (properties != null) {
                for (Enumeration<String> keys = properties.keys(); keys.hasMoreElements();) {
                    String k = keys.nextElement();
                    if (!MANAGED.contains(k)) {
                        this.properties.put(k, properties.get(k));
                    }
                }
            }
        }

        Dictionary<String, Object> dictionary() {
            return new Hashtable<>(properties);
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Config)) {
                return false;
            }
            Config c = (Config) o;
            return Objects.equals(factoryPid, c.factoryPid)
                    && properties.keySet().equals(c.properties.keySet())
                    && properties.keySet().stream().allMatch(k -> Objects.deepEquals(
                            properties.get(k), c.properties.get(k)));
        }

        @Override
        public int hashCode() {
            return Objects.hash(factoryPid, properties.keySet());
        }
    }
}
