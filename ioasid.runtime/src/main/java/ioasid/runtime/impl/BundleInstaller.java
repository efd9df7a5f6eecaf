package ioasid.runtime.impl;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.felix.fileinstall.ArtifactInstaller;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.FrameworkListener;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.startlevel.FrameworkStartLevel;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.framework.wiring.FrameworkWiring;

/*
 * Installs, updates and uninstalls the bundles of deploy/ for the runtime's watcher
 * (DeployWatcher) and for FileInstall, which keeps polling the folder; both call this for every
 * *.jar in it.
 *
 * FileInstall's own handling of a changed jar stops the bundle, updates it and then refreshes it
 * from another thread. The launcher sets the start level of every bundle again when it is
 * updated, and Felix answers that by starting the bundle on its start-level thread, between the
 * update and the refresh: the refresh then stopped the freshly started bundle and started it
 * again (a backend left twice), and when the two threads met on Felix's locks, one of them was
 * interrupted and Felix logged "Unable to acquire global lock for resolve" with its stack.
 *
 * Rules:
 *  1. A changed jar is one Bundle.update: Felix stops the bundle, replaces it, drops the old
 *     revision when nothing is wired to it, and starts it again, all under the bundle's lock.
 *     One departure, one return. A refresh follows only when another bundle still uses the old
 *     revision, as it must then.
 *  2. A jar that does not open whole is not acted on. While it keeps changing it is being
 *     written and is reported again when it is done; once it has stopped changing, it gets one
 *     warning line, and the bundle it would replace keeps running.
 *  3. A new jar is installed at the deploy start level, above the platform's, and started
 *     persistently, like FileInstall's, but only once the framework has reached that level:
 *     while the framework climbs to its beginning level, Felix starts at once any bundle whose
 *     level is below the target, so a backend of the first scan (FileInstall runs at level 10)
 *     came up before the core and took its configuration without the core's check. Those are
 *     started once the start-level requests asked for them are done (6 below), and then the
 *     framework is taken to the late start level (StartLevels 2). A bundle
 *     that cannot start yet is named once and tried again after every later change in the
 *     folder. A bundle the operator stopped stays stopped, through updates too.
 *  4. Nothing here throws back into FileInstall, which would log a stack trace: every failure is
 *     one line naming the file.
 *  5. The folder is the truth: whichever method is called, a jar that is there is installed or
 *     its bundle updated, and one that is gone takes its bundle with it. The watcher and
 *     FileInstall both report each change, in either order and FileInstall up to two polls
 *     late; a version of a file already acted on (the same size, time, file key and SHA-256)
 *     is not acted on again, whatever came of it. That keeps 1's one update per replaced jar
 *     and 2's one line per broken jar, and a late report of a deletion cannot take away the
 *     bundle of a jar copied back since.
 *  6. A bundle is uninstalled only once the start-level requests asked before are done
 *     (StartLevels 1): the launcher asks for one on every install and update, and the framework
 *     carries it out later, on its start-level thread, behind any climb under way; one that
 *     finds its bundle uninstalled is reported as an error with a stack trace.
 *  7. Every bundle of the folder keeps deploy/'s start level: the launcher gives each bundle
 *     installed or updated its own default, the late level (StartLevels 2), which the framework
 *     has not reached during the launch and while it climbs there. A bundle given back its level
 *     is started once the launcher's request is done: carried out on a started bundle while the
 *     framework is below that level, the request would stop it.
 */
final class BundleInstaller implements ArtifactInstaller, FrameworkListener {
    private static final System.Logger LOG = System.getLogger("ioasid.runtime");
    /** How long a jar that does not open must stay unchanged before it is called broken. */
    static final long SETTLE_MS = 1000;
    private static final long REFRESH_TIMEOUT_S = 60;

    private final BundleContext context;
    private final File folder;
    private final String shown;
    private final int startLevel;
    private final StartLevels levels;
    /** Bundle IDs installed from the folder that could not start yet (3 above). */
    private final Set<Long> waiting = new LinkedHashSet<>();
    /** Bundles installed above the framework's current start level, with their jars (3 above). */
    private final Map<Long, File> early = new LinkedHashMap<>();
    /** The version of each jar last acted on, by bundle location (5 above). */
    private final Map<String, FileStamp> handled = new HashMap<>();

    /**
     * @param folder the folder FileInstall watches
     * @param shown how lines name it: "deploy"
     * @param startLevel the start level of the bundles it installs
     * @param levels what waits for the framework's start-level requests (6 above)
     */
    BundleInstaller(BundleContext context, Path folder, String shown, int startLevel,
            StartLevels levels) {
        this.context = context;
        this.startLevel = startLevel;
        this.levels = levels;
        this.folder = canonical(folder.toFile());
        this.shown = shown;
    }

    @Override
    public boolean canHandle(File artifact) {
        // by name only: a jar still being copied must not look like another kind of file, and
        // FileInstall's jars of sub-folders (made elsewhere) stay FileInstall's
        return artifact.getName().toLowerCase(Locale.ROOT).endsWith(".jar")
                && folder.equals(canonical(artifact.getAbsoluteFile().getParentFile()));
    }

    @Override
    public synchronized void install(File artifact) {
        sync(artifact);
    }

    @Override
    public synchronized void update(File artifact) {
        sync(artifact);
    }

    @Override
    public synchronized void uninstall(File artifact) {
        sync(artifact);
    }

    /** 5 above. */
    private void sync(File artifact) {
        Path p = artifact.toPath();
        BasicFileAttributes attrs;
        try {
            attrs = FileStamp.attributes(p);
        } catch (IOException e) {
            attrs = null;
        }
        if (attrs == null) {
            remove(artifact);
        } else {
            bringIn(artifact, attrs);
        }
        retryWaiting();
    }

    private void bringIn(File artifact, BasicFileAttributes attrs) {
        String location = location(artifact);
        Bundle existing = find(location);
        Path p = artifact.toPath();
        byte[] bytes;
        try {
            JarIdentity.requireWhole(p);
            bytes = Files.readAllBytes(p);
            JarIdentity.of(bytes);
        } catch (IOException | RuntimeException e) {
            FileStamp broken = FileStamp.of(attrs, null);
            if (!broken.equals(handled.get(location)) && !changing(p)) {
                handled.put(location, broken);
                warn(artifact, "is not a whole bundle jar (" + reason(e) + "): "
                        + (existing == null ? "not installed"
                                : existing.getSymbolicName() + " keeps running its previous jar"));
            }
            return;
        }
        FileStamp stamp = FileStamp.of(attrs, bytes);
        if (stamp.equals(handled.get(location))) {
            return;
        }
        handled.put(location, stamp);
        if (existing != null) {
            update(artifact, existing, bytes);
            return;
        }
        try {
            Bundle b = context.installBundle(location, new ByteArrayInputStream(bytes));
            // the launcher gives every bundle installed its default level, which can differ
            // from deploy/'s; setting it queues one more request for the start-level thread
            // (6 above)
            boolean relevelled = relevel(b);
            if (startLevel > frameworkLevel()) {
                early.put(b.getBundleId(), artifact);
            } else {
                if (relevelled) {
                    settle();
                }
                start(artifact, b);
            }
        } catch (BundleException | RuntimeException e) {
            warn(artifact, "was not installed: " + reason(e));
        }
    }

    private void remove(File artifact) {
        String location = location(artifact);
        handled.remove(location);
        Bundle b = find(location);
        if (b != null) {
            waiting.remove(b.getBundleId());
            early.remove(b.getBundleId());
            try {
                levels.awaitQueued();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                b.uninstall();
            } catch (BundleException | RuntimeException e) {
                warn(artifact, "could not uninstall " + b.getSymbolicName() + ": " + reason(e));
            }
        }
    }

    /** 1 above. */
    private void update(File artifact, Bundle b, byte[] bytes) {
        Exception failed = null;
        try {
            b.update(new ByteArrayInputStream(bytes));
        } catch (BundleException | RuntimeException e) {
            failed = e;
        }
        // the launcher gives an updated bundle its default level, the late one, as the
        // framework tells of the update: below it, as while it climbs there, Felix could not
        // start the bundle again; back at deploy/'s level it can (7 above)
        if (failed != null && !(relevel(b) && b.getState() != Bundle.UNINSTALLED
                && b.adapt(BundleStartLevel.class).isPersistentlyStarted())) {
            warn(artifact, "could not update " + b.getSymbolicName() + ": " + reason(failed));
            return;
        }
        if (failed != null) {
            settle();
            start(artifact, b);
            return;
        }
        relevel(b);
        FrameworkWiring wiring = context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION)
                .adapt(FrameworkWiring.class);
        if (wiring.getRemovalPendingBundles().contains(b)) {
            CountDownLatch done = new CountDownLatch(1);
            wiring.refreshBundles(List.of(b), e -> done.countDown());
            try {
                done.await(REFRESH_TIMEOUT_S, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (waiting.contains(b.getBundleId())) {
            start(artifact, b);
        }
    }

    /**
     * 7 above: waits for the start-level requests asked so far, the launcher's for a bundle just
     * installed or updated among them. One still to come would stop the bundle started now, when
     * it asks for a level above the framework's (before the late level is reached).
     */
    private void settle() {
        try {
            levels.awaitQueued();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Gives the bundle deploy/'s start level when it has another; whether it had. */
    private boolean relevel(Bundle b) {
        BundleStartLevel level = b.adapt(BundleStartLevel.class);
        if (level.getStartLevel() == startLevel) {
            return false;
        }
        level.setStartLevel(startLevel);
        return true;
    }

    /** Whether the file's size or time changes within SETTLE_MS, or it goes away. */
    private static boolean changing(Path p) {
        try {
            long size = Files.size(p);
            FileTime time = Files.getLastModifiedTime(p);
            Thread.sleep(SETTLE_MS);
            return Files.size(p) != size || !Files.getLastModifiedTime(p).equals(time);
        } catch (IOException e) {
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    /** 3 above: starts what waited for the framework's start level once it is reached. */
    @Override
    public synchronized void frameworkEvent(FrameworkEvent event) {
        if (event.getType() != FrameworkEvent.STARTED
                && event.getType() != FrameworkEvent.STARTLEVEL_CHANGED) {
            return;
        }
        if (!early.isEmpty()) {
            settle();
        }
        int level = frameworkLevel();
        for (Map.Entry<Long, File> e : List.copyOf(early.entrySet())) {
            Bundle b = context.getBundle(e.getKey());
            if (b == null || b.getState() == Bundle.UNINSTALLED) {
                early.remove(e.getKey());
            } else if (b.adapt(BundleStartLevel.class).getStartLevel() <= level) {
                early.remove(e.getKey());
                start(e.getValue(), b);
            }
        }
        if (event.getType() == FrameworkEvent.STARTLEVEL_CHANGED) {
            levels.raiseWhenReady(StartLevels.READY_MS);
        }
    }

    private int frameworkLevel() {
        return context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION)
                .adapt(FrameworkStartLevel.class).getStartLevel();
    }

    /** 3 above. */
    private void start(File artifact, Bundle b) {
        if ((b.adapt(BundleRevision.class).getTypes() & BundleRevision.TYPE_FRAGMENT) != 0) {
            return;
        }
        try {
            b.start();
            waiting.remove(b.getBundleId());
        } catch (BundleException | RuntimeException e) {
            if (waiting.add(b.getBundleId())) {
                warn(artifact, b.getSymbolicName() + " is installed but cannot start yet: "
                        + reason(e) + "; it is tried again when " + shown + "/ changes");
            }
        }
    }

    private void retryWaiting() {
        for (Long id : List.copyOf(waiting)) {
            Bundle b = context.getBundle(id);
            if (b == null || b.getState() == Bundle.UNINSTALLED
                    || (b.getState() & (Bundle.STARTING | Bundle.ACTIVE)) != 0
                    || !b.adapt(BundleStartLevel.class).isPersistentlyStarted()) {
                waiting.remove(id);
                continue;
            }
            try {
                b.start();
                waiting.remove(id);
            } catch (BundleException | RuntimeException e) {
                // still waiting: it was named once already
            }
        }
    }

    private Bundle find(String location) {
        for (Bundle b : context.getBundles()) {
            if (location.equals(b.getLocation())) {
                return b;
            }
        }
        return null;
    }

    /** The location FileInstall would give the bundle, so it recognises it after a restart. */
    private static String location(File artifact) {
        return artifact.getAbsoluteFile().toURI().normalize().toString();
    }

    private void warn(File artifact, String what) {
        LOG.log(System.Logger.Level.WARNING, shown + "/" + artifact.getName() + " " + what);
    }

    /** The first line of a failure's message: Felix's resolution errors run on. */
    static String reason(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName();
        }
        int nl = m.indexOf('\n');
        return (nl < 0 ? m : m.substring(0, nl)).strip();
    }

    private static File canonical(File f) {
        try {
            return f.getCanonicalFile();
        } catch (IOException e) {
            return f.getAbsoluteFile();
        }
    }
}
