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
            String artifactId = c.split(":")[1];
            if (!new File(dir, artifactId + ".jar").isFile()) {
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
            if (!gav[0].equals("org.ioasid") && !path.contains(gav[1] + "-" + gav[2] + ".jar")) {
                missing.add(c);
            }
        }
        assertEquals(List.of(), missing, "not a dependency of ioasid.testkit.paxexam");
    }
}
