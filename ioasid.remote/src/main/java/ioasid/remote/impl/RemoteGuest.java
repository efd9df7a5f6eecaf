package ioasid.remote.impl;

import java.util.HashMap;
import java.util.Hashtable;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.remoteserviceadmin.EndpointDescription;
import org.osgi.service.remoteserviceadmin.ImportRegistration;
import org.osgi.service.remoteserviceadmin.RemoteConstants;
import org.osgi.service.remoteserviceadmin.RemoteServiceAdmin;
import org.osgi.util.tracker.ServiceTracker;

import ioasid.api.IoasidService;
import ioasid.api.remote.HostIoasidService;

/*
 * The guest role: imports the host's HostIoasidService through the Remote Service Admin (an
 * endpoint description of the configured host, closed again when the role goes; no topology
 * manager or discovery), and registers the host space the guest's vIOMMUs allocate from: a
 * GuestSpace with ioasid.role=host and ioasid.vcmd.host=true, present only while the host
 * answers (GuestLink). A step runs every heartbeat, and at once after a failed call.
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
    }

    private final BundleContext context;
    private final ImportRegistration imported;
    private final ServiceTracker<HostIoasidService, HostIoasidService> tracker;
    private final GuestLink link;
    private final GuestSpace space;
    private final ScheduledExecutorService loop;
    private final ServiceRegistration<GuestCommands> commands;
    private final Object registrationLock = new Object();
    private ServiceRegistration<IoasidService> registration;

    @Activate
    public RemoteGuest(BundleContext context, Config config,
            @Reference RemoteServiceAdmin rsa) throws Exception {
        this.context = context;
        String wrong = wrong(config);
        if (wrong != null) {
            // an operator's mistake: one line, and the role stays idle until the file is fixed
            LOG.log(System.Logger.Level.ERROR, "ioasid.remote.guest: " + wrong
                    + "; the guest role is idle");
            imported = null;
            tracker = null;
            link = null;
            space = null;
            loop = null;
            commands = null;
            return;
        }
        String endpoint = "tcp://" + config.host();
        String filter = "(&(objectClass=" + HostIoasidService.class.getName()
                + ")(service.imported=*)(endpoint.id=" + endpoint + "))";
        tracker = new ServiceTracker<>(context, context.createFilter(filter), null);
        tracker.open();
        Map<String, Object> props = new HashMap<>();
        props.put(RemoteConstants.ENDPOINT_ID, endpoint);
        props.put(RemoteConstants.SERVICE_IMPORTED_CONFIGS, "aries.tcp");
        props.put(Constants.OBJECTCLASS, new String[] {HostIoasidService.class.getName()});
        props.put("osgi.basic.timeout", String.valueOf(config.timeout_ms()));
        imported = rsa.importService(new EndpointDescription(props));
        if (imported == null || imported.getException() != null) {
            LOG.log(System.Logger.Level.ERROR, "ioasid.remote.guest: the import of " + endpoint
                    + " failed: " + (imported == null ? "no provider for aries.tcp"
                            : imported.getException()));
        }
        link = new GuestLink(tracker::getService, config.host(), config.name(), config.secret(),
                this::register, this::unregister);
        link.wake(this::kick);
        space = new GuestSpace(link);
        link.space(space);
        loop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ioasid.remote guest " + config.name());
            t.setDaemon(true);
            return t;
        });
        loop.scheduleWithFixedDelay(this::step, 0, config.heartbeat_ms(), TimeUnit.MILLISECONDS);
        Hashtable<String, Object> cmd = new Hashtable<>();
        cmd.put("osgi.command.scope", "remote");
        cmd.put("osgi.command.function", new String[] {"status", "latency"});
        commands = context.registerService(GuestCommands.class, new GuestCommands(link, space),
                cmd);
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
        String h = config.host();
        int colon = h == null ? -1 : h.lastIndexOf(':');
        if (colon <= 0 || !h.substring(colon + 1).matches("[0-9]{1,5}")) {
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
        tracker.close();
        if (imported != null) {
            imported.close();
        }
    }
}
