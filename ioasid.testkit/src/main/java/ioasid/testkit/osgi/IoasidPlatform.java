package ioasid.testkit.osgi;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceListener;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.IoasidService;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.dto.BackendDTO;
import ioasid.api.iommu.spi.IommuBackend;

/**
 * The platform as a test inside the framework sees it: its services once they are there, its
 * backends as the IOMMU core lists them, and the waits a test needs while configurations, bundles
 * and backends come and go. Everything the platform does in reply to a configuration or a bundle
 * event happens on other threads; every wait here polls until its condition holds and fails with
 * an {@link AssertionError} naming what it waited for after {@link #TIMEOUT_MS}.
 *
 * <pre>{@code
 * @Inject BundleContext context;
 *
 * @Before
 * public void setUp() throws Exception {
 *     platform = IoasidPlatform.ready(context);
 *     platform.configure(Configs.smmu("smmu0", "0000:00:01.0;sid=0x8;pasid=16"));
 *     platform.awaitBackends("smmu0");
 * }
 * }</pre>
 *
 * <p>The static methods serve a test that has its services injected (a Pax Exam {@code @Inject}
 * of the platform's {@link IoasidService} needs {@code @Filter(IoasidPlatform.OWN_SPACE)} once a
 * host space may exist: host spaces are IOASID services too).
 */
public final class IoasidPlatform {
    /**
     * The filter of the platform's own IOASID service, which host spaces do not match: host
     * spaces are IOASID services too, registered with {@code ioasid.role=host}.
     */
    public static final String OWN_SPACE = "(!(ioasid.role=host))";
    /** The filter of host IOASID spaces ({@link Configs#host()}). */
    public static final String HOST_SPACE = "(ioasid.role=host)";
    /**
     * How long every wait lasts before it fails, in milliseconds: 15 s, or the system property
     * {@code ioasid.testkit.timeout.ms}.
     */
    public static final long TIMEOUT_MS = Long.getLong("ioasid.testkit.timeout.ms", 15_000);

    private final BundleContext context;
    private final IoasidService ioasid;
    private final IommuService iommu;
    private final ConfigurationAdmin configurationAdmin;

    private IoasidPlatform(BundleContext context) {
        this.context = context;
        this.ioasid = service(context, IoasidService.class, OWN_SPACE);
        this.iommu = service(context, IommuService.class, null);
        this.configurationAdmin = service(context, ConfigurationAdmin.class, null);
    }

    /**
     * Waits until the platform's IOASID and IOMMU services and Config Admin are registered.
     *
     * @param context the test's bundle context (Pax Exam injects it)
     */
    public static IoasidPlatform ready(BundleContext context) {
        return new IoasidPlatform(Objects.requireNonNull(context, "context"));
    }

    /** The bundle context the platform was looked up with, the test's own. */
    public BundleContext context() {
        return context;
    }

    /** The platform's own IOASID service (never a host space). */
    public IoasidService ioasid() {
        return ioasid;
    }

    /** The IOMMU core. */
    public IommuService iommu() {
        return iommu;
    }

    /** Config Admin, which {@link #configure} creates configurations through. */
    public ConfigurationAdmin configurationAdmin() {
        return configurationAdmin;
    }

    /** Creates (or replaces) the configuration through Config Admin; see {@link Configs}. */
    public Configuration configure(FactoryConfig config) throws IOException {
        return config.create(configurationAdmin);
    }

    /** Creates (or replaces) several configurations, in order. */
    public List<Configuration> configure(FactoryConfig first, FactoryConfig... more)
            throws IOException {
        List<Configuration> made = new ArrayList<>();
        made.add(configure(first));
        for (FactoryConfig c : more) {
            made.add(configure(c));
        }
        return made;
    }

    /** Whether the IOMMU core lists a backend of this name, in any state. */
    public boolean hasBackend(String name) {
        return hasBackend(iommu, name);
    }

    /** The backend of this name as the IOMMU core lists it; fails when there is none. */
    public BackendDTO backend(String name) {
        return backend(iommu, name);
    }

    /** Waits until the backend is listed and serving (state ACTIVE); returns it. */
    public BackendDTO awaitBackend(String name) {
        return awaitState(name, "ACTIVE");
    }

    /** Waits until every one of these backends is listed and serving. */
    public void awaitBackends(String... names) {
        for (String n : names) {
            awaitBackend(n);
        }
    }

    /**
     * Waits until the backend is listed as FAILED: its configuration was refused and it serves
     * nothing; {@link BackendDTO#problem} says why.
     */
    public BackendDTO awaitFailed(String name) {
        return awaitState(name, "FAILED");
    }

    /** The OSGi condition the health checks register while the platform is ready. */
    public static final String READY = "(&(objectClass=org.osgi.service.condition.Condition)"
            + "(osgi.condition.id=felix.hc.readiness))";

    /** Whether the readiness condition is registered (see {@link #awaitReady}). */
    public boolean isReady() {
        try {
            return context.getServiceReferences((String) null, READY) != null;
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Waits until the platform is ready as its health checks say: the readiness monitor of
     * {@code ioasid.health} (installed by {@code IoasidOptions.health()}) has registered the
     * {@code felix.hc.readiness} condition, so every configured IOMMU instance is up. The
     * monitor looks once a second, so this may take that long after the backends arrived.
     */
    public void awaitReady() {
        await("the felix.hc.readiness condition", this::isReady);
    }

    /** Waits until the readiness condition is withdrawn: some IOMMU instance is not up. */
    public void awaitNotReady() {
        await("the felix.hc.readiness condition to go", () -> !isReady());
    }

    /** Waits until the IOMMU core no longer lists the backend. */
    public void awaitGone(String name) {
        await(name + " to leave", () -> !hasBackend(name));
    }

    private BackendDTO awaitState(String name, String state) {
        await(name + " " + state, () -> Arrays.stream(iommu.backends())
                .anyMatch(b -> b.name.equals(name) && state.equals(b.state)));
        return backend(name);
    }

    /** The first host IOASID space, once one is registered. */
    public IoasidService hostSpace() {
        return hostSpace(context);
    }

    /** The installed bundle with this symbolic name; fails when there is none. */
    public Bundle bundle(String symbolicName) {
        return bundle(context, symbolicName);
    }

    /**
     * Updates a backend bundle from its own location (a rebuilt jar at the same place) and waits
     * until each of its backends has left once and come back once; see {@link #swap(Bundle,
     * InputStream)}.
     */
    public List<BackendDTO> swap(Bundle bundle) throws BundleException {
        return swap(bundle, null);
    }

    /**
     * Updates a backend bundle to a new jar, as a hot-swap does, and waits until each backend
     * it registered has left once and come back once, and the IOMMU core lists it serving from
     * the new revision. The bundle is not refreshed: a backend bundle exports nothing, so its
     * old revision goes at once unless something (the test probe's dynamic imports, say) still
     * wires to it; {@link #refresh} makes sure.
     *
     * @param jar the new jar, or null for the bundle's own location
     * @return the backends as listed afterwards
     * @throws IllegalStateException when the bundle registers no {@link IommuBackend}
     * @throws AssertionError when a backend does not leave and return within the timeout, or
     *     leaves or returns more than once
     */
    public List<BackendDTO> swap(Bundle bundle, InputStream jar) throws BundleException {
        Map<String, Long> before = backendsOf(bundle);
        if (before.isEmpty()) {
            throw new IllegalStateException(bundle.getSymbolicName()
                    + " registers no IOMMU backend to swap");
        }
        BackendWatch watch = new BackendWatch(before.keySet());
        try {
            context.addServiceListener(watch, "(" + Constants.OBJECTCLASS + "="
                    + IommuBackend.class.getName() + ")");
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        try {
            if (jar == null) {
                bundle.update();
            } else {
                bundle.update(jar);
            }
            List<BackendDTO> after = new ArrayList<>();
            for (Map.Entry<String, Long> b : before.entrySet()) {
                String name = b.getKey();
                await(name + " to leave and return", () -> watch.left(name) > 0
                        && watch.returned(name) > 0 && hasBackend(name)
                        && backend(name).serviceId != b.getValue());
                after.add(backend(name));
            }
            watch.assertOnce();
            return after;
        } finally {
            context.removeServiceListener(watch);
        }
    }

    /** The backends a bundle registers, by name, with their service IDs. */
    private static Map<String, Long> backendsOf(Bundle bundle) {
        Map<String, Long> names = new LinkedHashMap<>();
        ServiceReference<?>[] refs = bundle.getRegisteredServices();
        for (ServiceReference<?> r : refs == null ? new ServiceReference<?>[0] : refs) {
            String[] classes = (String[]) r.getProperty(Constants.OBJECTCLASS);
            if (Arrays.asList(classes).contains(IommuBackend.class.getName())
                    && r.getProperty(IommuBackend.NAME) != null) {
                names.put(r.getProperty(IommuBackend.NAME).toString(),
                        (Long) r.getProperty(Constants.SERVICE_ID));
            }
        }
        return names;
    }

    /** Counts the departures and arrivals of named backend services. */
    private static final class BackendWatch implements ServiceListener {
        private final Collection<String> names;
        private final Map<String, Integer> left = new HashMap<>();
        private final Map<String, Integer> returned = new HashMap<>();

        BackendWatch(Collection<String> names) {
            this.names = names;
        }

        @Override
        public synchronized void serviceChanged(ServiceEvent event) {
            Object name = event.getServiceReference().getProperty(IommuBackend.NAME);
            if (name == null || !names.contains(name.toString())) {
                return;
            }
            if (event.getType() == ServiceEvent.UNREGISTERING) {
                left.merge(name.toString(), 1, Integer::sum);
            } else if (event.getType() == ServiceEvent.REGISTERED) {
                returned.merge(name.toString(), 1, Integer::sum);
            }
        }

        synchronized int left(String name) {
            return left.getOrDefault(name, 0);
        }

        synchronized int returned(String name) {
            return returned.getOrDefault(name, 0);
        }

        synchronized void assertOnce() {
            for (String n : names) {
                if (left(n) != 1 || returned(n) != 1) {
                    throw new AssertionError(n + " left " + left(n) + " times and returned "
                            + returned(n) + " times; expected once each");
                }
            }
        }
    }

    /**
     * Refreshes the bundles (stops, rewires and restarts them and their dependents) and waits
     * until the framework has done it: the old revisions of updated or uninstalled bundles are
     * then gone.
     */
    public void refresh(Bundle... bundles) throws InterruptedException {
        refresh(context, bundles);
    }

    // ---- for tests that have their services injected

    /**
     * Polls the condition until it holds.
     *
     * @throws AssertionError "timed out waiting for " + {@code what} after {@link #TIMEOUT_MS}
     */
    public static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
            }
        }
    }

    /** Whether the IOMMU core lists a backend of this name, in any state. */
    public static boolean hasBackend(IommuService iommu, String name) {
        return Arrays.stream(iommu.backends()).anyMatch(b -> b.name.equals(name));
    }

    /** The backend of this name as the IOMMU core lists it; fails when there is none. */
    public static BackendDTO backend(IommuService iommu, String name) {
        return Arrays.stream(iommu.backends()).filter(b -> b.name.equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no backend " + name));
    }

    /** The first host IOASID space, once one is registered. */
    public static IoasidService hostSpace(BundleContext context) {
        return service(context, IoasidService.class, HOST_SPACE);
    }

    /** The installed bundle with this symbolic name; fails when there is none. */
    public static Bundle bundle(BundleContext context, String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError("no bundle " + symbolicName);
    }

    /** Refreshes the bundles and waits until the framework has done it. */
    public static void refresh(BundleContext context, Bundle... bundles)
            throws InterruptedException {
        FrameworkWiring wiring = context.getBundle(Constants.SYSTEM_BUNDLE_ID)
                .adapt(FrameworkWiring.class);
        CountDownLatch done = new CountDownLatch(1);
        wiring.refreshBundles(Arrays.asList(bundles), e -> done.countDown());
        if (!done.await(TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
            throw new AssertionError("timed out waiting for the refresh of "
                    + Arrays.toString(bundles));
        }
    }

    /** Waits for a service matching the filter (null for any) and gets it. */
    static <S> S service(BundleContext context, Class<S> type, String filter) {
        String what = type.getSimpleName() + (filter == null ? "" : " " + filter);
        AtomicReference<S> found = new AtomicReference<>();
        await(what, () -> {
            for (ServiceReference<S> r : references(context, type, filter)) {
                S s = context.getService(r);
                if (s != null) {
                    found.set(s);
                    return true;
                }
            }
            return false;
        });
        return found.get();
    }

    /** The matching references, the one getServiceReference would choose first. */
    private static <S> List<ServiceReference<S>> references(BundleContext context,
            Class<S> type, String filter) {
        try {
            List<ServiceReference<S>> refs = new ArrayList<>(
                    context.getServiceReferences(type, filter));
            refs.sort(Collections.reverseOrder());
            return refs;
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("bad filter " + filter, e);
        }
    }
}
