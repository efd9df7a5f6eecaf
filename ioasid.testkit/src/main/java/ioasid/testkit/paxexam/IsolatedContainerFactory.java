package ioasid.testkit.paxexam;

import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

import org.ops4j.pax.exam.ExamSystem;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.TestAddress;
import org.ops4j.pax.exam.TestContainer;
import org.ops4j.pax.exam.TestContainerException;
import org.ops4j.pax.exam.TestContainerFactory;
import org.ops4j.pax.exam.nat.internal.NativeTestContainerFactory;
import org.osgi.framework.Constants;

/**
 * Pax Exam's native container with one framework storage folder per start, and a framework that
 * failed to start stopped again. Name it on every suite:
 *
 * <pre>{@code
 * @RunWith(PaxExam.class)
 * @ExamFactory(IsolatedContainerFactory.class)
 * @ExamReactorStrategy(PerMethod.class)
 * public class MyBackendIT { ... }
 * }</pre>
 *
 * <p>Left alone, every container in the JVM shares one storage folder, and a framework whose start
 * fails (a bundle that cannot be installed) is never stopped and keeps the folder's lock: every
 * later container then fails with {@code OverlappingFileLockException}, which hides the first
 * cause. The folders are made under {@code java.io.tmpdir} and deleted when the framework stops.
 */
public final class IsolatedContainerFactory implements TestContainerFactory {
    @Override
    public TestContainer[] create(ExamSystem system) {
        return new TestContainer[] {new IsolatedContainer(system)};
    }

    private static final class IsolatedContainer implements TestContainer {
        private final ExamSystem system;
        private TestContainer framework;
        private Path storage;

        IsolatedContainer(ExamSystem system) {
            this.system = system;
        }

        @Override
        public synchronized TestContainer start() {
            storage = newStorage();
            Option own = frameworkProperty(Constants.FRAMEWORK_STORAGE).value(storage.toString());
            TestContainer[] made = new NativeTestContainerFactory()
                    .create(system.fork(new Option[] {own}));
            if (made.length != 1) {
                throw new TestContainerException(
                        "expected one OSGi framework on the class path, found " + made.length);
            }
            framework = made[0];
            try {
                framework.start();
            } catch (RuntimeException | Error e) {
                try {
                    framework.stop();
                } catch (RuntimeException stopFailure) {
                    e.addSuppressed(stopFailure);
                }
                framework = null;
                deleteStorage();
                throw e;
            }
            return this;
        }

        @Override
        public synchronized TestContainer stop() {
            if (framework != null) {
                try {
                    framework.stop();
                } finally {
                    framework = null;
                    deleteStorage();
                }
            }
            return this;
        }

        @Override
        public synchronized long install(InputStream stream) {
            return running().install(stream);
        }

        @Override
        public synchronized long install(String location, InputStream stream) {
            return running().install(location, stream);
        }

        @Override
        public synchronized long installProbe(InputStream stream) {
            return running().installProbe(stream);
        }

        @Override
        public synchronized void uninstallProbe() {
            running().uninstallProbe();
        }

        @Override
        public void call(TestAddress address) {
            TestContainer current;
            synchronized (this) {
                current = running();
            }
            current.call(address);
        }

        private TestContainer running() {
            if (framework == null) {
                throw new TestContainerException("the container is not started");
            }
            return framework;
        }

        private static Path newStorage() {
            try {
                Path root = Path.of(System.getProperty("java.io.tmpdir"), "pax-exam-frameworks");
                Files.createDirectories(root);
                return Files.createTempDirectory(root, "felix-");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private void deleteStorage() {
            try (Stream<Path> files = Files.walk(storage)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                // what stays behind is in the temporary directory, left for its owner to clean
            }
            storage = null;
        }
    }
}
