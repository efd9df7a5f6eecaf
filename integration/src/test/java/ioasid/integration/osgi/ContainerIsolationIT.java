package ioasid.integration.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.bundle;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import javax.inject.Inject;

import org.junit.jupiter.api.Test;
import org.junit.runner.JUnitCore;
import org.junit.runner.Result;
import org.junit.runner.RunWith;
import org.junit.runner.notification.Failure;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.ExamFactory;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;

import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * A Pax Exam container that cannot start fails its own tests with its own cause, and the
 * containers after it start as if nothing had happened.
 */
class ContainerIsolationIT {
    private static final String MISSING = "no-such-bundle.jar";

    @Test
    void everySuiteUsesTheIsolatingContainerFactory() throws Exception {
        Path classes = Path.of(ContainerIsolationIT.class.getProtectionDomain().getCodeSource()
                .getLocation().toURI());
        List<String> suites = new ArrayList<>();
        List<String> without = new ArrayList<>();
        List<Path> classFiles;
        try (Stream<Path> files = Files.walk(classes)) {
            classFiles = files.filter(f -> f.toString().endsWith(".class")).toList();
        }
        for (Path p : classFiles) {
            String name = classes.relativize(p).toString().replace('/', '.');
            Class<?> c = Class.forName(name.substring(0, name.length() - ".class".length()),
                    false, getClass().getClassLoader());
            RunWith runner = c.getAnnotation(RunWith.class);
            if (runner == null || runner.value() != PaxExam.class) {
                continue;
            }
            suites.add(c.getSimpleName());
            ExamFactory factory = c.getAnnotation(ExamFactory.class);
            if (factory == null || factory.value() != IsolatedContainerFactory.class) {
                without.add(c.getName());
            }
        }
        assertTrue(suites.size() >= 12, "found the Pax Exam suites: " + suites);
        assertEquals(List.of(), without, "suites without @ExamFactory(IsolatedContainerFactory)");
    }

    @Test
    void aContainerThatCannotStartFailsAloneWithItsCause() {
        Result broken = new JUnitCore().run(BrokenStart.class);

        assertEquals(2, broken.getRunCount());
        assertEquals(2, broken.getFailureCount(), "each method starts its own container");
        for (Failure f : broken.getFailures()) {
            String trace = f.getTrace();
            assertTrue(trace.contains(MISSING), "the real cause is reported: " + trace);
            assertFalse(trace.contains("OverlappingFileLockException"),
                    "no stale bundle-cache lock: " + trace);
        }

        Result next = new JUnitCore().run(StartsAfterwards.class);
        assertTrue(next.wasSuccessful(), () -> "the next suite starts: " + next.getFailures());
        assertEquals(1, next.getRunCount());
    }

    /** Not suites of their own (nested classes): run only by the test above. */
    @RunWith(PaxExam.class)
    @ExamFactory(IsolatedContainerFactory.class)
    @ExamReactorStrategy(PerMethod.class)
    public static class BrokenStart {
        @Configuration
        public Option[] config() {
            File missing = new File(System.getProperty("java.io.tmpdir"), MISSING);
            return new Option[] {IoasidOptions.platform(), bundle(missing.toURI().toString())};
        }

        @org.junit.Test
        public void first() {
            throw new AssertionError("must not run: the container cannot start");
        }

        @org.junit.Test
        public void second() {
            throw new AssertionError("must not run: the container cannot start");
        }
    }

    @RunWith(PaxExam.class)
    @ExamFactory(IsolatedContainerFactory.class)
    @ExamReactorStrategy(PerMethod.class)
    public static class StartsAfterwards {
        @Inject
        IoasidService ioasid;

        @Configuration
        public Option[] config() {
            return new Option[] {IoasidOptions.platform()};
        }

        @org.junit.Test
        public void allocates() {
            IoasidSet set = ioasid.createSet(TokenType.NONE, "after a broken start", 1);
            // runs inside Felix, where JUnit 4 is the assertion library
            org.junit.Assert.assertEquals(1, ioasid.alloc(set, 1, 10, null).id());
        }
    }
}
