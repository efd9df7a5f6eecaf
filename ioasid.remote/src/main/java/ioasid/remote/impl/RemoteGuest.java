package ioasid.remote.impl;

import java.util.Collection;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.remoteserviceadmin.EndpointDescription;
import org.osgi.service.remoteserviceadmin.ExportRegistration;
import org.osgi.service.remoteserviceadmin.ImportRegistration;
import org.osgi.service.remoteserviceadmin.RemoteConstants;
import org.osgi.service.remoteserviceadmin.RemoteServiceAdmin;
import org.osgi.util.tracker.ServiceTracker;

import ioasid.api.IoasidService;
import ioasid.api.remote.GuestListener;
import ioasid.api.remote.HostIoasidService;

/*
 * The guest role: imports the host's HostIoasidService through the Remote Service Admin (an
 * endpoint description of the configured host, closed again when the role goes; no topology
 * manager or discovery), and registers the host space the guest's vIOMMUs allocate from: a
 * GuestSpace with ioasid.role=host and ioasid.vcmd.host=true, present only while the host
 * answers (GuestLink). A step runs every heartbeat, and at once after a failed call or a host's
 * notice. The guest exports a GuestListener of its own for those notices.
 *
 * A changed configuration (another host after a migration, another name or secret, another
 * heartbeat) is applied in place (@Modified): the host space and the PASIDs the guest holds stay,
 * the link moves to the new import and reconciles there. A configuration with a mistake is one
 * log line, and the guest keeps what it had.
 */
@Component(configurationPid = RemoteGuest.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = RemoteGuest.Config.class)
public final class RemoteGuest {
    public static final String PID = "ioasid.remote.guest";
    private static final System.Logger LOG = System.getLogger("ioasid.remote");

    @ObjectClassDefinition(name = "IOASID remote guest",
            description = "Allocates this runtime's guest PASIDs from a host runtime over Remote "
                    + "Services")
    public @interface Config {
        @AttributeDefinition(name = "Host", description = "host:port of the host runtime")
        String host() default "127.0.0.1:9301";

        @AttributeDefinition(name = "Name", description = "This guest's name on the host")
        String name();

        @AttributeDefinition(name = "Secret", description = "This guest's secret; the host keeps "
                + "its SHA-256", type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD)
        String secret();

        @AttributeDefinition(name = "Heartbeat (ms)",
                description = "How often the guest checks that the host is there", min = "10")
        int heartbeat_ms() default 250;

        @AttributeDefinition(name = "Call timeout (ms)", min = "1")
        int timeout_ms() default 2000;

        @AttributeDefinition(name = "Listener", description = "Whether the guest exports a "
                + "listener for the host's notices (revocations, migration)")
        boolean listener() default true;

        @AttributeDefinition(name = "Listener address", description = "The address the "
                + "listener's endpoint advertises to the host")
        String listener_host() default "127.0.0.1";

        @AttributeDefinition(name = "Listener port", description = "TCP port of the listener; 0 "
                + "for a free one. The provider listens on every interface", min = "0",
                max = "65535")
        int listener_port() default 0;
    }

    /** The import of one host's service, with the tracker that finds its proxy. */
    private static final class HostImport {
        final String target;
        final ImportRegistration imported;
        final ServiceTracker<HostIoasidService, HostIoasidService> tracker;

        HostImport(BundleContext context, RemoteServiceAdmin rsa, String target, int timeoutMs)
                throws Exception {
            this.target = target;
            String endpoint = "tcp://" + target;
            String filter = "(&(objectClass=" + HostIoasidService.class.getName()
                    + ")(service.imported=*)(endpoint.id=" + endpoint + "))";
            tracker = new ServiceTracker<>(context, context.createFilter(filter), null);
            tracker.open();
            Map<String, Object> props = new HashMap<>();
            props.put(RemoteConstants.ENDPOINT_ID, endpoint);
            props.put(RemoteConstants.SERVICE_IMPORTED_CONFIGS, "aries.tcp");
            props.put(Constants.OBJECTCLASS, new String[] {HostIoasidService.class.getName()});
            props.put("osgi.basic.timeout", String.valueOf(timeoutMs));
            imported = rsa.importService(new EndpointDescription(props));
            if (imported == null || imported.getException() != null) {
                LOG.log(System.Logger.Level.ERROR, "ioasid.remote.guest: the import of " + endpoint
                        + " failed: " + (imported == null ? "no provider for aries.tcp"
                                : imported.getException()));
            }
        }

        void close() {
            tracker.close();
            if (imported != null) {
                imported.close();
            }
        }
    }

    private final BundleContext context;
    private final RemoteServiceAdmin rsa;
    private final GuestPointer pointer;
    private final Object registrationLock = new Object();
    // set when the role starts (at activation, or at the first configuration without mistakes)
    private Config config;
    private volatile HostImport current;
    /** Every import not closed yet: a retarget queued when the role stops never ran. */
    private final java.util.concurrent.CopyOnWriteArrayList<HostImport> opened =
            new java.util.concurrent.CopyOnWriteArrayList<>();
    private GuestLink link;
    private GuestSpace space;
    private ScheduledExecutorService loop;
    private ScheduledFuture<?> heartbeat;
    private ServiceRegistration<GuestCommands> commands;
    private ServiceRegistration<GuestListener> notices;
    private Collection<ExportRegistration> noticeExports = List.of();
    private ServiceRegistration<IoasidService> registration;

    @Activate
    public RemoteGuest(BundleContext context, Config config,
            @Reference RemoteServiceAdmin rsa, @Reference ConfigurationAdmin cm)
            throws Exception {
        this.context = context;
        this.rsa = rsa;
        this.pointer = new GuestPointer(cm);
        String wrong = wrong(config);
        if (wrong != null) {
            // an operator's mistake: one line, and the role stays idle until the file is fixed
            LOG.log(System.Logger.Level.ERROR, "ioasid.remote.guest: " + wrong
                    + "; the guest role is idle");
            return;
        }
        start(config);
    }

    private void start(Config config) throws Exception {
        this.config = config;
        current = new HostImport(context, rsa, config.host(), config.timeout_ms());
        opened.add(current);
        link = new GuestLink(() -> current.tracker.getService(), config.host(), config.name(),
                config.secret(), this::register, this::unregister);
        link.wake(this::kick);
        space = new GuestSpace(link);
        link.space(space);
        loop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ioasid.remote guest " + config.name());
            t.setDaemon(true);
            return t;
        });
        if (config.listener()) {
            exportListener(config);
        }
        heartbeat = loop.scheduleWithFixedDelay(this::step, 0, config.heartbeat_ms(),
                TimeUnit.MILLISECONDS);
        Hashtable<String, Object> cmd = new Hashtable<>();
        cmd.put("osgi.command.scope", "remote");
        cmd.put("osgi.command.function", new String[] {"status", "latency", "connect"});
        commands = context.registerService(GuestCommands.class, new GuestCommands(link, space,
                pointer), cmd);
    }

    /** Exports the guest's listener; without it the guest learns of changes at reconciles. */
    private void exportListener(Config config) {
        notices = context.registerService(GuestListener.class, new GuestNotices(link), null);
        Map<String, Object> props = new HashMap<>();
        props.put(RemoteConstants.SERVICE_EXPORTED_INTERFACES, GuestListener.class.getName());
        props.put(RemoteConstants.SERVICE_EXPORTED_CONFIGS, "aries.tcp");
        props.put("aries.rsa.hostname", config.listener_host());
        if (config.listener_port() != 0) {
            props.put("aries.rsa.port", String.valueOf(config.listener_port()));
        }
        noticeExports = rsa.exportService(notices.getReference(), props);
        for (ExportRegistration e : noticeExports) {
            if (e.getException() != null) {
                LOG.log(System.Logger.Level.ERROR, "ioasid.remote.guest: the listener's export "
                        + "failed (" + e.getException().getMessage() + "); the guest learns of "
                        + "revocations at its next reconcile");
            } else {
                link.listener(e.getExportReference().getExportedEndpoint().getId());
            }
        }
    }

    /** Applies a changed configuration in place (see the class comment). */
    @Modified
    void modified(Config next) throws Exception {
        String wrong = wrong(next);
        if (wrong != null) {
            LOG.log(System.Logger.Level.ERROR, "ioasid.remote.guest: " + wrong + "; "
                    + (link == null ? "the guest role is idle" : "the guest keeps host "
                            + config.host()));
            return;
        }
        if (link == null) {
            start(next);
            return;
        }
        Config was = config;
        config = next;
        if (was.heartbeat_ms() != next.heartbeat_ms()) {
            heartbeat.cancel(false);
            heartbeat = loop.scheduleWithFixedDelay(this::step, 0, next.heartbeat_ms(),
                    TimeUnit.MILLISECONDS);
        }
        if (was.listener() != next.listener() || was.listener_port() != next.listener_port()
                || !was.listener_host().equals(next.listener_host())) {
            LOG.log(System.Logger.Level.WARNING, "ioasid.remote.guest: a changed listener "
                    + "setting applies when the guest restarts");
        }
        if (was.host().equals(next.host()) && was.name().equals(next.name())
                && was.secret().equals(next.secret()) && was.timeout_ms() == next.timeout_ms()) {
            return;
        }
        HostImport to = was.host().equals(next.host()) && was.timeout_ms() == next.timeout_ms()
                ? current : new HostImport(context, rsa, next.host(), next.timeout_ms());
        opened.addIfAbsent(to);
        loop.execute(() -> {
            HostImport from = current;
            try {
                link.retarget(() -> to.tracker.getService(), next.host(), next.name(),
                        next.secret());
            } finally {
                current = to; // the link's supplier reads its own import, not this field
                if (from != to) {
                    opened.remove(from);
                    from.close();
                }
            }
            LOG.log(System.Logger.Level.INFO, "ioasid.remote: guest " + next.name()
                    + ": pointed at host " + next.host());
        });
    }

    private void step() {
        try {
            link.step();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "ioasid.remote: guest link step failed", e);
        }
    }

    /** What is wrong with the configuration, or null. */
    static String wrong(Config config) {
        if (config.name() == null || config.name().isBlank()) {
            return "no guest name (name=\"...\")";
        }
        if (config.secret() == null || config.secret().isEmpty()) {
            return "no secret for guest " + config.name() + " (secret=\"...\")";
        }
        return wrongHost(config.host());
    }

    /** What is wrong with a host:port, or null. */
    static String wrongHost(String h) {
        int colon = h == null ? -1 : h.lastIndexOf(':');
        if (colon <= 0 || !h.substring(colon + 1).matches("[0-9]{1,5}")
                || Integer.parseInt(h.substring(colon + 1)) > 65535) {
            return "host \"" + h + "\" is not host:port";
        }
        return null;
    }

    /** Runs a step at once after a call failed, instead of waiting for the heartbeat. */
    private void kick() {
        try {
            loop.execute(this::step);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // stopping
        }
    }

    private void register() {
        synchronized (registrationLock) {
            if (registration != null) {
                return;
            }
            Hashtable<String, Object> props = new Hashtable<>();
            props.put("ioasid.role", "host");
            props.put("ioasid.vcmd.host", Boolean.TRUE);
            props.put("ioasid.host.name", "remote " + link.target());
            registration = context.registerService(IoasidService.class, space, props);
        }
    }

    private void unregister() {
        synchronized (registrationLock) {
            if (registration != null) {
                registration.unregister();
                registration = null;
            }
        }
    }

    @Deactivate
    void close() {
        if (loop == null) {
            return;
        }
        loop.shutdownNow();
        try {
            loop.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        commands.unregister();
        unregister();
        link.close();
        for (ExportRegistration e : noticeExports) {
            e.close();
        }
        if (notices != null) {
            notices.unregister();
        }
        for (HostImport i : opened) {
            i.close();
        }
    }
}
