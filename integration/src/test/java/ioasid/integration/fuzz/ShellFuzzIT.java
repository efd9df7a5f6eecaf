package ioasid.integration.fuzz;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.composite;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.inject.Inject;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.ExamFactory;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.ops4j.pax.exam.util.Filter;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.Errno;
import ioasid.api.IoasidService;
import ioasid.api.iommu.IommuService;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.osgi.Shell;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * Fuzzed input in a real Felix framework: the {@code ioasid:} and {@code iommu:} Gogo commands
 * through a command processor session, with garbage, edge numbers and valid-looking arguments,
 * with the three backends and a host IOASID space; and the IOASID fuzz run against the real
 * service with the host space as the foreign one. A command that fails prints exactly one line
 * {@code ERRNO: message} on stderr, never a stack trace, and changes nothing; one that succeeds
 * prints to stdout only. Seeds as in {@link Fuzz}.
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class ShellFuzzIT {
    private static final Pattern ERROR_LINE = Pattern.compile("([A-Z0-9]+): (.+)");
    private static final Pattern ALLOCATED = Pattern.compile("IOASID (\\d+) allocated in set (\\d+)");

    @Inject
    BundleContext ctx;

    @Inject
    CommandProcessor processor;

    @Inject
    ConfigurationAdmin ca;

    @Inject
    @Filter(IoasidPlatform.OWN_SPACE)
    IoasidService ioasid;

    @Inject
    IommuService iommu;

    @Configuration
    public Option[] config() {
        return new Option[] {composite(IoasidOptions.platform(), IoasidOptions.backends(),
                IoasidOptions.shell())};
    }

    @Before
    public void configure() throws Exception {
        Configs.smmu("smmu0", "0000:00:01.0;sid=0x8;pasid=16").create(ca);
        Configs.vtd("dmar0", "0000:01:00.0;pasid=20").nesting(true).create(ca);
        Configs.virtio("viommu0", "ep1;sid=0x1").create(ca);
        IoasidPlatform.await("three backends", () -> iommu.backends().length == 3);
    }

    /** Runs a script through the console; returns {stdout, stderr, summary}. */
    private String[] run(String script) throws Exception {
        Shell.Result r = Shell.script(processor, script);
        return new String[] {r.out(), r.err(), r.summary()};
    }

    private String state() {
        return Fuzz.str(ioasid.ids(null, Integer.MAX_VALUE)) + Fuzz.str(ioasid.sets())
                + ioasid.capacity() + Fuzz.snapshot(iommu);
    }

    private static String quote(String arg) {
        return "'" + arg + "'";
    }

    private String arg(Random rnd) {
        switch (rnd.nextInt(6)) {
            case 0:
                return Fuzz.garbage(rnd);
            case 1:
            case 2:
                return Fuzz.numberText(rnd);
            case 3: {
                int[] ids = Arrays.stream(ioasid.ids(null, 50)).mapToInt(d -> d.id).toArray();
                return ids.length == 0 ? "1" : Integer.toString(ids[rnd.nextInt(ids.length)]);
            }
            case 4:
                return Integer.toString(rnd.nextInt(6));
            default:
                String[] words = {"vm1", "vm2", "MM", "NONE", "0000:00:01.0", "0000:01:00.0", "ep1",
                    "smmu0", "dmar0", "viommu0", "*", "r", "w", "nope"};
                return words[rnd.nextInt(words.length)];
        }
    }

    /**
     * Runs {@code n} random commands of {@code commands}; checks the one-line error rule, that a
     * failure changes nothing, and what a successful alloc says.
     */
    private Map<String, Integer> fuzz(String[] commands, int n, long seed) throws Exception {
        Random rnd = new Random(seed);
        Map<String, Integer> tally = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            String cmd = commands[rnd.nextInt(commands.length)];
            StringBuilder script = new StringBuilder(cmd);
            int argc = rnd.nextInt(5);
            if (cmd.equals("iommu:await")) {
                // bounded waits only: a count, then a short timeout
                script.append(' ').append(quote(arg(rnd))).append(' ')
                        .append(quote(new String[] {"0", "1", "-5", "x", "0x10"}[rnd.nextInt(5)]));
            } else {
                for (int a = 0; a < argc; a++) {
                    script.append(' ').append(quote(arg(rnd)));
                }
            }
            String before = state();
            String[] r;
            try {
                r = run(script.toString());
            } catch (Exception e) {
                throw new AssertionError("step " + i + " `" + script + "` threw out of the session: "
                        + e, e);
            }
            String where = "step " + i + " `" + script + "`: stdout <" + r[0] + "> stderr <"
                    + r[1] + ">";
            for (String s : r) {
                assertFalse(where + ": a stack trace", s.contains("\tat ") || s.contains("Exception")
                        || s.contains("Caused by"));
            }
            assertEquals(where + ": the console counts the failure", r[1].isEmpty(),
                    r[2].isEmpty());
            if (r[1].isEmpty()) {
                tally.merge(cmd + " ok", 1, Integer::sum);
                Matcher m = ALLOCATED.matcher(r[0]);
                if (m.find()) {
                    int id = Integer.parseInt(m.group(1));
                    assertEquals(where, Integer.parseInt(m.group(2)), ioasid.find(null, id).set()
                            .id());
                }
                continue;
            }
            String[] lines = r[1].split("\n", -1);
            assertEquals(where + ": one line on stderr", 2, lines.length);
            assertEquals(where + ": nothing after it", "", lines[1]);
            Matcher m = ERROR_LINE.matcher(lines[0]);
            assertTrue(where + ": ERRNO: message", m.matches());
            Errno errno = Errno.valueOf(m.group(1));
            assertFalse(where + ": EIO marks a bug the shell caught", errno == Errno.EIO);
            assertEquals(where + ": nothing on stdout after an error", "", r[0]);
            assertEquals(where + ": a failed command changes nothing", before, state());
            tally.merge(cmd + " " + errno, 1, Integer::sum);
        }
        return tally;
    }

    @Test
    public void ioasidShellCommandsFuzz() throws Exception {
        String[] commands = {"ioasid:sets", "ioasid:mkset", "ioasid:mkset", "ioasid:rmset",
            "ioasid:alloc", "ioasid:alloc", "ioasid:alloc", "ioasid:free", "ioasid:get",
            "ioasid:put", "ioasid:find", "ioasid:ids", "ioasid:attach", "ioasid:detach",
            "ioasid:spaces", "ioasid:allocators", "ioasid:listeners", "ioasid:capacity",
            "ioasid:stats",
            // set migration (exportset writes files, so it is left to MigrationCommandsTest)
            "ioasid:importset", "ioasid:freeset"};
        int n = Fuzz.steps(300);
        Fuzz.seeded("ShellFuzzIT", Fuzz.runs(1), seed -> {
            try {
                System.out.println("ShellFuzzIT ioasid: " + fuzz(commands, n, seed));
            } catch (Exception e) {
                throw Fuzz.failure(e.toString(), e);
            }
        });
    }

    @Test
    public void iommuShellCommandsFuzz() throws Exception {
        String[] commands = {"iommu:backends", "iommu:devices", "iommu:groups", "iommu:domains",
            "iommu:pasids", "iommu:viommus", "iommu:log", "iommu:log", "iommu:probe",
            "iommu:probe", "iommu:probe", "iommu:await"};
        int n = Fuzz.steps(300);
        Fuzz.seeded("ShellFuzzIT", Fuzz.runs(1), seed -> {
            try {
                System.out.println("ShellFuzzIT iommu: " + fuzz(commands, n, seed));
            } catch (Exception e) {
                throw Fuzz.failure(e.toString(), e);
            }
        });
    }

    @Test
    public void iommufdShellCommandsFuzz() throws Exception {
        String[] commands = {"iommu:objects", "iommu:ioas", "iommu:ioas", "iommu:map",
            "iommu:map", "iommu:map", "iommu:unmap", "iommu:unmap", "iommu:reserve", "iommu:bind",
            "iommu:bind", "iommu:unbind", "iommu:hwpt", "iommu:attach", "iommu:attach",
            "iommu:detach", "iommu:replace", "iommu:destroy"};
        int n = Fuzz.steps(300);
        Fuzz.seeded("ShellFuzzIT", Fuzz.runs(1), seed -> {
            try {
                System.out.println("ShellFuzzIT iommufd: " + fuzz(commands, n, seed));
            } catch (Exception e) {
                throw Fuzz.failure(e.toString(), e);
            }
        });
    }

    @Test
    public void ioasidServiceInFrameworkFuzz() throws Exception {
        Configs.host().create(ca);
        IoasidService host = IoasidPlatform.hostSpace(ctx);
        int steps = Fuzz.steps(400);
        Map<String, Integer> tally = new TreeMap<>();
        IoasidFuzzRun[] previous = {null};
        Fuzz.seeded("ShellFuzzIT", Fuzz.runs(1), seed -> {
            IoasidFuzzRun run = new IoasidFuzzRun(ioasid, host, seed, previous[0]);
            previous[0] = run;
            try {
                run.go(steps);
            } catch (AssertionError e) {
                throw Fuzz.failure(run.last() + ": " + e.getMessage(), e);
            }
            run.tally.forEach((k, v) -> tally.merge(k, v, Integer::sum));
            run.release();
        });
        System.out.println("ShellFuzzIT service: " + tally);
        assertTrue(tally.size() > 20);
    }
}
