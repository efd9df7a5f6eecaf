package ioasid.integration.osgi;

import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.composite;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.File;

import org.ops4j.pax.exam.Option;

/** The bundles and settings every Pax Exam suite starts from. */
public final class Platform {
    private Platform() {
    }

    public static File bundleFile(String name) {
        File f = new File(System.getProperty("ioasid.bundles"), name + ".jar");
        if (!f.isFile()) {
            throw new IllegalStateException("missing bundle " + f + ": run through Maven");
        }
        return f;
    }

    public static String url(String name) {
        return bundleFile(name).toURI().toString();
    }

    /**
     * Felix with SCR, Config Admin, Metatype, Event Admin, the test kit, and the platform without
     * backends.
     */
    public static Option base() {
        return composite(
                systemProperty("pax.exam.osgi.unresolved.fail").value("true"),
                systemProperty("org.ops4j.pax.logging.DefaultServiceLog.level").value("WARN"),
                frameworkProperty("felix.log.level").value("1"),
                junitBundles(),
                bundle(url("org.osgi.util.function")),
                bundle(url("org.osgi.util.promise")),
                bundle(url("org.osgi.service.component")),
                bundle(url("org.apache.felix.scr")),
                bundle(url("org.apache.felix.configadmin")),
                bundle(url("org.osgi.service.log")),
                bundle(url("org.apache.felix.metatype")),
                bundle(url("org.apache.felix.eventadmin")),
                bundle(url("ioasid.api")),
                bundle(url("ioasid.testkit")),
                bundle(url("ioasid.core")));
    }

    /** The Gogo runtime, the platform's commands and its console (no terminal: scripts only). */
    public static Option shell() {
        return composite(
                bundle(url("org.apache.felix.gogo.runtime")),
                bundle(url("ioasid.shell")),
                bundle(url("jline")),
                bundle(url("ioasid.console")));
    }

    /** The base plus the three backends. */
    public static Option withBackends() {
        return composite(base(),
                bundle(url("backend.smmuv3")),
                bundle(url("backend.vtd")),
                bundle(url("backend.virtio")));
    }
}
