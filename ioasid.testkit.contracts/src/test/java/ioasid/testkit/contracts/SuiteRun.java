package ioasid.testkit.contracts;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/** One run of a contract suite through the JUnit Platform launcher: each test's outcome. */
final class SuiteRun {
    final Set<String> passed = new TreeSet<>();
    final Set<String> skipped = new TreeSet<>();
    /** Failed tests and what they reported. */
    final Map<String, String> failed = new TreeMap<>();

    private SuiteRun() {
    }

    static SuiteRun of(Class<?> suite) {
        SuiteRun run = new SuiteRun();
        Launcher launcher = LauncherFactory.create();
        launcher.execute(LauncherDiscoveryRequestBuilder.request().selectors(selectClass(suite))
                .build(), new TestExecutionListener() {
                    @Override
                    public void executionSkipped(TestIdentifier id, String reason) {
                        if (id.isTest()) {
                            run.skipped.add(name(id));
                        }
                    }

                    @Override
                    public void executionFinished(TestIdentifier id, TestExecutionResult r) {
                        if (!id.isTest()) {
                            if (r.getStatus() == TestExecutionResult.Status.FAILED) {
                                run.failed.put(id.getDisplayName(), String.valueOf(
                                        r.getThrowable().orElse(null)));
                            }
                            return;
                        }
                        switch (r.getStatus()) {
                            case SUCCESSFUL:
                                run.passed.add(name(id));
                                break;
                            case ABORTED:
                                run.skipped.add(name(id));
                                break;
                            default:
                                run.failed.put(name(id), String.valueOf(
                                        r.getThrowable().orElse(null)));
                        }
                    }
                });
        return run;
    }

    private static String name(TestIdentifier id) {
        return id.getSource().filter(MethodSource.class::isInstance)
                .map(s -> ((MethodSource) s).getMethodName()).orElse(id.getDisplayName());
    }

    @Override
    public String toString() {
        return "passed " + passed + "\nskipped " + skipped + "\nfailed " + failed;
    }
}
