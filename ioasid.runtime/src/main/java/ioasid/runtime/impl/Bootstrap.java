package ioasid.runtime.impl;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.Hashtable;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;

import org.apache.felix.fileinstall.ArtifactInstaller;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.SynchronousBundleListener;
import org.osgi.framework.startlevel.FrameworkStartLevel;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.log.LogReaderService;
import org.osgi.util.tracker.ServiceTracker;

/**
 * Prepares deploy/ before FileInstall's first scan and runs beside it. When the folder does not
 * exist yet, it is created and filled with the three backend bundles and a default configuration
 * for each, so that a newcomer sees a working platform at once; an existing folder is the
 * operator's, where only backend jars older than the runtime's own are replaced, with a line each
 * ({@link DeployFolder}). It registers the installer FileInstall hands the folder's jars to
 * ({@link BundleInstaller}), reads deploy/*.config strictly in FileInstall's place
 * ({@link ConfigFiles}), hands both the folder's changes as soon as they are reported, ahead of
 * FileInstall's poll ({@link DeployWatcher}), and registers the {@code runtime:restore} command.
 * It writes the web console's address and credentials when missing ({@link WebFiles}), and asks
 * for the late start level, where what the first command does not need starts
 * ({@link StartLevels}). It also
 * gives the platform's java.util.logging output one line per record, unless the operator configured
 * logging, prints what the framework's bundles log as one line per entry ({@link OsgiLog}), and
 * keeps an orderly shutdown quiet: when the framework stops, every backend leaves because
 * everything does, which is no news worth a line each.
 */
public final class Bootstrap implements BundleActivator {
    static final String DIR_PROPERTY = "felix.fileinstall.dir";
    static final String POLL_PROPERTY = "felix.fileinstall.poll";
    /** The start level of deploy/'s bundles: above the platform's, so its components come first. */
    static final String LEVEL_PROPERTY = "ioasid.deploy.startlevel";
    static final int DEFAULT_LEVEL = 151;
    /**
     * The start level asked for once the launch is under way, above the beginning one: what the
     * first command does not need starts there, after it (StartLevels). None when unset.
     */
    static final String LATE_PROPERTY = "ioasid.startlevel.late";
    /** The console's arguments when the launcher was given none (Gogo's way). */
    static final String GOSH_ARGS = "gosh.args";
    /** How long removing a deploy/ bundle waits for the start-level requests before it. */
    static final long QUEUE_MS = 10_000;
    /** How long a stopping runtime waits for Event Admin to finish the deliveries under way. */
    static final long DRAIN_MS = 2000;
    /** The Web Console's start-up user and password, read as framework properties. */
    static final String CONSOLE_USER = "felix.webconsole.username";
    static final String CONSOLE_PASSWORD = "felix.webconsole.password";

    /**
     * One line per record on the console: "INFO: message". The health check core logs through
     * SLF4J to java.util.logging, as do the web stack's bundles, SPI Fly and Remote Services
     * (Aries RSA); their INFO lines
     * narrate their own start and stop, so only their warnings are printed, as for the
     * framework's other bundles.
     */
    static final String LOGGING = "handlers=java.util.logging.ConsoleHandler\n"
            + ".level=INFO\n"
            + "org.apache.felix.hc.level=WARNING\n"
            + "org.apache.aries.spifly.level=WARNING\n"
            + "org.apache.felix.webconsole.level=WARNING\n"
            + "org.apache.felix.http.level=WARNING\n"
            + "org.eclipse.jetty.level=WARNING\n"
            + "org.apache.aries.rsa.level=WARNING\n"
            + "java.util.logging.SimpleFormatter.format=%4$s: %5$s%6$s%n\n";

    /** The platform's loggers, named by the bundles that log. */
    static final String PLATFORM_LOGGERS = "ioasid";

    /** The HTTP server's loggers, silent while the framework stops. */
    static final String HTTP_LOGGERS = "org.apache.felix.http";

    /** The health check core's loggers, silent while the framework stops. */
    static final String HC_LOGGERS = "org.apache.felix.hc";

    /** Holds the platform's logger while it is quietened: JUL keeps loggers weakly. */
    private Logger quietened;
    private Logger httpQuietened;
    private Logger hcQuietened;
    private ServiceTracker<ConfigurationAdmin, ConfigurationAdmin> admins;
    private ServiceTracker<LogReaderService, LogReaderService> logs;
    private DeployWatcher watcher;
    private StartLevels levels;
    private volatile boolean stopping;

    @Override
    public void start(BundleContext context) throws IOException {
        if (System.getProperty("java.util.logging.config.file") == null
                && System.getProperty("java.util.logging.config.class") == null) {
            LogManager.getLogManager().readConfiguration(
                    new ByteArrayInputStream(LOGGING.getBytes(StandardCharsets.UTF_8)));
        }
        context.addBundleListener((SynchronousBundleListener) e -> {
            if (e.getType() == BundleEvent.STOPPING && e.getBundle().getBundleId() == 0) {
                stopping = true;
                quietened = Logger.getLogger(PLATFORM_LOGGERS);
                quietened.setLevel(Level.WARNING);
                // a stop while HTTP is still starting interrupts it, which it reports at length
                httpQuietened = Logger.getLogger(HTTP_LOGGERS);
                httpQuietened.setLevel(Level.OFF);
                // the health checks' monitor can be running a check as its bundle stops, and
                // reports the invalid context it then meets with a stack trace
                hcQuietened = Logger.getLogger(HC_LOGGERS);
                hcQuietened.setLevel(Level.OFF);
            }
        });
        OsgiLog osgiLog = new OsgiLog(() -> stopping);
        logs = new ServiceTracker<>(context, LogReaderService.class, null) {
            @Override
            public LogReaderService addingService(ServiceReference<LogReaderService> ref) {
                LogReaderService r = super.addingService(ref);
                r.addLogListener(osgiLog);
                return r;
            }

            @Override
            public void removedService(ServiceReference<LogReaderService> ref,
                    LogReaderService r) {
                r.removeLogListener(osgiLog);
                super.removedService(ref, r);
            }
        };
        logs.open();
        // ahead of FileInstall's own reader of .config files, before its first scan
        admins = new ServiceTracker<>(context, ConfigurationAdmin.class, null);
        admins.open();
        Hashtable<String, Object> ranking = new Hashtable<>();
        ranking.put(Constants.SERVICE_RANKING, 100);
        ConfigFiles configs = new ConfigFiles(admins::getService);
        context.registerService(ArtifactInstaller.class, configs, ranking);
        if (preparesNothing(launcherArguments(context), context.getProperty(GOSH_ARGS))) {
            // the console prints the usage, or refuses the arguments, and shuts down: an
            // operator's typo must not leave a filled deploy/ and a password behind
            return;
        }
        String dir = context.getProperty(DIR_PROPERTY);
        Path deploy = Paths.get(dir != null ? dir : "deploy");
        List<URL> entries = new ArrayList<>();
        Enumeration<URL> found = context.getBundle().findEntries("deploy", "*", false);
        while (found != null && found.hasMoreElements()) {
            entries.add(found.nextElement());
        }
        DeployFolder folder = new DeployFolder(deploy, DeployFolder.stateBeside(deploy), entries);
        try {
            if (!folder.exists()) {
                System.out.println("ioasid: first start, " + deploy + "/ filled with "
                        + folder.fill());
            } else {
                for (String line : folder.checkOnStart()) {
                    System.out.println("ioasid: " + line);
                }
            }
        } catch (IOException e) {
            // the runtime still starts: the console can say what is there and restore it
            System.out.println("ioasid: cannot prepare " + deploy + "/: "
                    + BundleInstaller.reason(e));
        }
        web(context, deploy, DeployFolder.stateBeside(deploy));
        // deploy/'s bundles get their start level as they are installed, not by a later request
        int level = startLevel(context, LEVEL_PROPERTY, DEFAULT_LEVEL);
        context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION).adapt(FrameworkStartLevel.class)
                .setInitialBundleStartLevel(level);
        // before the installer's: the end of the launch tells it the level first
        int late = serves(launcherArguments(context), context.getProperty(GOSH_ARGS))
                ? startLevel(context, LATE_PROPERTY, 0) : 0;
        levels = new StartLevels(context, late, QUEUE_MS);
        context.addFrameworkListener(levels);
        BundleInstaller installer =
                new BundleInstaller(context, deploy, deploy.toString(), level, levels);
        context.addFrameworkListener(installer);
        context.registerService(ArtifactInstaller.class, installer, null);
        try {
            watcher = new DeployWatcher(deploy, List.of(configs, installer)).start();
        } catch (IOException e) {
            System.out.println("ioasid: " + deploy + "/ is looked at only every "
                    + context.getProperty(POLL_PROPERTY) + " ms: " + BundleInstaller.reason(e));
        }
        Dictionary<String, Object> commands = new Hashtable<>();
        commands.put("osgi.command.scope", RuntimeCommands.SCOPE);
        commands.put("osgi.command.function", RuntimeCommands.FUNCTIONS);
        context.registerService(RuntimeCommands.class, new RuntimeCommands(folder), commands);
    }

    @Override
    public void stop(BundleContext context) {
        if (watcher != null) {
            watcher.close();
        }
        if (levels != null) {
            levels.close();
        }
        if (stopping) {
            EventDrain.await(DRAIN_MS);
        }
        if (admins != null) {
            admins.close();
        }
        if (logs != null) {
            logs.close();
        }
    }

    /**
     * Writes the web console's address and credentials when missing ({@link WebFiles}) and makes
     * its start-up user and password those of deploy/ioasid.http.config, never the console's
     * built-in default: a random hash nobody knows when the file cannot be read. The Web Console
     * reads them as framework properties, which fall back to system properties.
     */
    private static void web(BundleContext context, Path deploy, Path state) {
        WebFiles files = new WebFiles(deploy, state, new SecureRandom());
        try {
            for (String line : files.ensure(context.getProperty(WebFiles.PORT_PROPERTY))) {
                System.out.println("ioasid: " + line);
            }
        } catch (IOException e) {
            System.out.println("ioasid: cannot write the web console's files in " + deploy
                    + "/: " + BundleInstaller.reason(e) + "; the console stays locked");
        }
        String[] credentials = files.credentials();
        System.setProperty(CONSOLE_USER, credentials != null ? credentials[0] : WebFiles.USER);
        System.setProperty(CONSOLE_PASSWORD,
                credentials != null ? credentials[1] : files.locked());
    }

    /**
     * Whether the runtime keeps running after the launch: the console serves, on a terminal, a
     * pipe or none (no arguments, --serve, only --no flags), rather than running commands or a
     * script and shutting down (-c, a file, --help; the console's Launch). A runtime that shuts
     * down after its script has no use for the late level, and a stop that comes while the
     * framework climbs to it waits for the climb.
     */
    static boolean serves(String[] args, String goshArgs) {
        String w = firstWord(args, goshArgs);
        return w == null || w.equals("--serve");
    }

    /**
     * Whether the launch only asks for the usage (-h, --help) or is one the console refuses with
     * exit code 2 (an unknown option, -c without commands, --serve or a script with more after
     * it, a script that is not a readable file): then deploy/ is left as it is. The console's
     * Launch has the rules; these are the same, seen from here.
     */
    static boolean preparesNothing(String[] args, String goshArgs) {
        List<String> words = words(args, goshArgs);
        int i = 0;
        while (i < words.size() && words.get(i).startsWith("--no")) {
            String flag = words.get(i++);
            if (!flag.equals("--nointeractive") && !flag.equals("--noshutdown")) {
                return true;
            }
        }
        if (i == words.size()) {
            return false;
        }
        String first = words.get(i);
        int rest = words.size() - i - 1;
        switch (first) {
            case "-h", "--help":
                return true;
            case "-c", "--command":
                return rest == 0;
            case "--serve":
                return rest > 0;
            default:
                return first.startsWith("-") || rest > 0 || !Files.isRegularFile(Path.of(first))
                        || !Files.isReadable(Path.of(first));
        }
    }

    /** The launch's first word after the --no flags, or null. */
    private static String firstWord(String[] args, String goshArgs) {
        for (String w : words(args, goshArgs)) {
            if (!w.startsWith("--no")) {
                return w;
            }
        }
        return null;
    }

    private static List<String> words(String[] args, String goshArgs) {
        if (args.length == 0 && goshArgs != null && !goshArgs.isBlank()) {
            return List.of(goshArgs.strip().split("\\s+"));
        }
        return List.of(args);
    }

    /** The arguments the launcher registered itself with; none without such a launcher. */
    private static String[] launcherArguments(BundleContext context) {
        try {
            ServiceReference<?>[] refs =
                    context.getServiceReferences((String) null, "(launcher.arguments=*)");
            Object a = refs == null ? null : refs[0].getProperty("launcher.arguments");
            return a instanceof String[] ? (String[]) a : new String[0];
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int startLevel(BundleContext context, String property, int otherwise) {
        String v = context.getProperty(property);
        if (v == null) {
            return otherwise;
        }
        try {
            int level = Integer.parseInt(v.trim());
            if (level > 0) {
                return level;
            }
        } catch (NumberFormatException e) {
            // named below
        }
        System.out.println("ioasid: " + property + "=" + v + " is not a start level above 0; "
                + (otherwise > 0 ? otherwise + " used" : "ignored"));
        return otherwise;
    }

    /** Creates the folder and copies the entries into it; returns the file names written. */
    static List<String> populate(Path deploy, List<URL> entries) throws IOException {
        return new DeployFolder(deploy, DeployFolder.stateBeside(deploy), entries).fill();
    }
}
