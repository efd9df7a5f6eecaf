package ioasid.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

import ioasid.testkit.osgi.PlatformBundles;

/**
 * Every bundle the test kit installs is where it looks: in the directory this module's build
 * fills for the Pax Exam suites, and among the test dependencies that ioasid.testkit.paxexam
 * brings to a project (so that Maven has put it into the local repository).
 */
class KitBundlesIT {
    @Test
    void theBundleDirectoryHoldsEveryBundleTheKitInstalls() {
        File dir = new File(System.getProperty(PlatformBundles.DIRECTORY));
        List<String> missing = new ArrayList<>();
        for (String c : PlatformBundles.coordinates()) {
            String[] gav = c.split(":");
            if (!new File(dir, gav[1] + ".jar").isFile()
                    && !new File(dir, gav[1] + "-" + gav[2] + ".jar").isFile()) {
                missing.add(c);
            }
        }
        assertEquals(List.of(), missing, "not copied into " + dir + " by integration/pom.xml");
    }

    @Test
    void theTestClassPathHoldsEveryBundleTheKitInstalls() {
        List<String> path = Arrays.stream(System.getProperty("java.class.path")
                .split(File.pathSeparator)).map(p -> new File(p).getName()).toList();
        List<String> missing = new ArrayList<>();
        for (String c : PlatformBundles.coordinates()) {
            String[] gav = c.split(":");
            if (!gav[0].equals("org.ioasid") && !path.contains(gav[1] + "-" + gav[2] + ".jar")
                    && !secondVersion(path, gav)) {
                missing.add(c);
            }
        }
        assertEquals(List.of(), missing, "not a dependency of ioasid.testkit.paxexam");
    }

    /**
     * A second version of an artifact on the class path at another one (SLF4J 2 beside 1.7)
     * cannot be a dependency too: it must then be in the local repository pax-url reads.
     */
    private static boolean secondVersion(List<String> path, String[] gav) {
        if (path.stream().noneMatch(p -> p.startsWith(gav[1] + "-"))) {
            return false;
        }
        String repo = System.getProperty("org.ops4j.pax.url.mvn.localRepository",
                System.getProperty("maven.repo.local"));
        return new File(repo, gav[0].replace('.', '/') + "/" + gav[1] + "/" + gav[2] + "/"
                + gav[1] + "-" + gav[2] + ".jar").isFile();
    }
}
