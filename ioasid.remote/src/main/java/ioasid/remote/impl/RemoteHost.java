package ioasid.remote.impl;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.security.SecureRandom;
import java.util.Collection;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
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
import org.osgi.service.remoteserviceadmin.ExportRegistration;
import org.osgi.service.remoteserviceadmin.ImportRegistration;
import org.osgi.service.remoteserviceadmin.RemoteConstants;
import org.osgi.service.remoteserviceadmin.RemoteServiceAdmin;

import ioasid.api.IoasidService;
import ioasid.api.remote.GuestListener;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidListener;
import ioasid.api.remote.HostIoasidService;

/*
 * The host role: exports the platform's own IOASID space to guests in other frameworks as a
 * HostIoasidService, through the Remote Service Admin and its TCP provider (exported by this
 * component, with no topology manager). Present only while configuration ioasid.remote.host
 * exists. The epoch is drawn anew at each activation, so a guest can tell a restarted host.
 * A bad guest entry in the configuration is skipped with one log line naming it.
 */
@Component(configurationPid = RemoteHost.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = RemoteHost.Config.class)
public final class RemoteHost {
    public static final String PID = "ioasid.remote.host";
    private static final System.Logger LOG = System.getLogger("ioasid.remote");

    @ObjectClassDefinition(name = "IOASID remote host",
            description = "Serves this runtime's IOASID space to guest runtimes over Remote "
                    + "Services (TCP, no TLS: private networks only)")
    public @interface Config {
        @AttributeDefinition(name = "Port", description = "TCP port of the Remote Services "
                + "provider; it listens on every interface", min = "1", max = "65535")
        int port() default 9301;

        @AttributeDefinition(name = "Endpoint host",
                description = "The address the endpoint advertises to guests")
        String endpoint_host() default "127.0.0.1";

        @AttributeDefinition(name = "Guests", description = "name={sha-256}<Base64 of the SHA-256 "
                + "of the guest's secret>, one entry per guest")
        String[] guests() default {};

        @AttributeDefinition(name = "Guest quota",
                description = "IDs each guest's set may hold at once", min = "1")
        int guest_quota() default 4096;

        @AttributeDefinition(name = "Listener hosts", description = "The addresses a guest's "
                + "listener endpoint may name; * for any")
        String[] listener_hosts() default {"127.0.0.1"};

        @AttributeDefinition(name = "Notice timeout (ms)", description = "How long a notice to "
                + "a guest's listener may take", min = "1")
        int notice_timeout_ms() default 2000;
    }

    private final HostService service;
    private final ServiceRegistration<HostIoasidService> registration;
    private final ServiceRegistration<HostCommands> commands;
    private final Collection<ExportRegistration> exports;
    private final ExecutorService notices;
    private final ServiceRegistration<IoasidListener> frees;

    @Activate
    public RemoteHost(BundleContext context, Config config,
            @Reference(target = "(!(ioasid.role=host))") IoasidService ioasid,
            @Reference RemoteServiceAdmin rsa) {
        GuestSecrets secrets = GuestSecrets.parse(config.guests());
        for (String line : secrets.refused) {
            LOG.log(System.Logger.Level.WARNING, "ioasid.remote.host: " + line);
        }
        long epoch = new SecureRandom().nextLong();
        service = new HostService(ioasid, secrets, config.guest_quota(), epoch);
        service.frozenState(context.getDataFile("exported-guests").toPath());
        notices = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "ioasid.remote host notices");
            t.setDaemon(true);
            return t;
        });
        service.listeners(endpoint -> importListener(context, rsa, endpoint,
                config.notice_timeout_ms()), Set.of(config.listener_hosts()), notices);
        // rule 8 of HostService: a guest's ID freed by anyone else is revoked from the guest
        Hashtable<String, Object> lp = new Hashtable<>();
        lp.put(IoasidListener.EVENTS, EventType.FREE.name());
        lp.put(IoasidListener.NAME, "ioasid.remote host: guests' IDs freed on the host");
        frees = context.registerService(IoasidListener.class, e -> {
            if (!e.replay()) {
                service.freed(e.set(), e.id(), e.spid());
            }
        }, lp);
        String busy = portInUse(config.port());
        if (busy != null) {
            // an operator's mistake: one line here, not the provider's stack trace at export
            LOG.log(System.Logger.Level.ERROR, "ioasid.remote.host: port " + config.port()
                    + " cannot be used (" + busy + "); the host role is idle: choose another "
                    + "port in deploy/ioasid.remote.host.config");
            registration = null;
            commands = null;
            exports = List.of();
            return;
        }
        registration = context.registerService(HostIoasidService.class, service, null);
        // exported here, not by a topology manager: the export properties go to the call only
        Map<String, Object> props = new HashMap<>();
        props.put(RemoteConstants.SERVICE_EXPORTED_INTERFACES, HostIoasidService.class.getName());
        props.put(RemoteConstants.SERVICE_EXPORTED_CONFIGS, "aries.tcp");
        props.put("aries.rsa.port", String.valueOf(config.port()));
        props.put("aries.rsa.hostname", config.endpoint_host());
        exports = rsa.exportService(registration.getReference(), props);
        for (ExportRegistration e : exports) {
            if (e.getException() != null) {
                LOG.log(System.Logger.Level.ERROR, "ioasid.remote.host: the export on port "
                        + config.port() + " failed: " + e.getException());
            }
        }
        Hashtable<String, Object> cmd = new Hashtable<>();
        cmd.put("osgi.command.scope", "remote");
        cmd.put("osgi.command.function", new String[] {"guests", "export", "import", "resume",
            "release", "revoke"});
        commands = context.registerService(HostCommands.class,
                new HostCommands(service, config.endpoint_host() + ":" + config.port()), cmd);
        LOG.log(System.Logger.Level.INFO, "ioasid.remote: host serving " + secrets.names().size()
                + " guests on port " + config.port() + " (epoch " + Long.toHexString(epoch) + ")");
    }

    /** Imports a guest's listener through the Remote Service Admin; EINVAL when it cannot. */
    private static HostService.Imported importListener(BundleContext context,
            RemoteServiceAdmin rsa, String endpoint, int timeoutMs) {
        Map<String, Object> props = new HashMap<>();
        props.put(RemoteConstants.ENDPOINT_ID, endpoint);
        props.put(RemoteConstants.SERVICE_IMPORTED_CONFIGS, "aries.tcp");
        props.put(Constants.OBJECTCLASS, new String[] {GuestListener.class.getName()});
        props.put("osgi.basic.timeout", String.valueOf(timeoutMs));
        ImportRegistration r = rsa.importService(new EndpointDescription(props));
        if (r == null || r.getException() != null) {
            if (r != null) {
                r.close();
            }
            throw new ioasid.api.IoasidException(ioasid.api.Errno.EINVAL, "the host cannot "
                    + "import the listener at " + endpoint);
        }
        @SuppressWarnings("unchecked")
        ServiceReference<GuestListener> ref = (ServiceReference<GuestListener>) r
                .getImportReference().getImportedService();
        GuestListener listener = context.getService(ref);
        return new HostService.Imported() {
            @Override
            public GuestListener listener() {
                return listener;
            }

            @Override
            public void close() {
                try {
                    context.ungetService(ref);
                } catch (IllegalStateException e) {
                    // the bundle is stopping: the import goes with it
                }
                r.close();
            }
        };
    }

    /**
     * Why the port cannot be listened on, or null when it can. A restarted role's previous
     * server may still be closing: the check gives it up to two seconds.
     */
    static String portInUse(int port) {
        for (int i = 0;; i++) {
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(port));
                return null;
            } catch (IOException e) {
                if (i == 20) {
                    return e.getMessage();
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
        }
    }

    @Deactivate
    void close() {
        if (registration != null) {
            // stop serving first: a guest notices at its next heartbeat, not after the rest
            commands.unregister();
            for (ExportRegistration e : exports) {
                e.close();
            }
            registration.unregister();
        }
        frees.unregister();
        service.shutdown();
        notices.shutdown();
        try {
            notices.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
