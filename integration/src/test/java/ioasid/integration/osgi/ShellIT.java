package ioasid.integration.osgi;

import static ioasid.testkit.osgi.IoasidPlatform.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.composite;


import javax.inject.Inject;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.ExamFactory;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.iommu.IommuService;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.Shell;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/** The ioasid and iommu Gogo commands through a real command processor. */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class ShellIT {
    @Inject
    CommandProcessor processor;

    @Inject
    ConfigurationAdmin ca;

    @Inject
    IommuService iommu;

    @Configuration
    public Option[] config() {
        return new Option[] {composite(IoasidOptions.platform(), IoasidOptions.backends(),
                IoasidOptions.shell())};
    }

    /** Runs a script through the console; returns {stdout, stderr, summary}. */
    private String[] run(String script) throws Exception {
        Shell.Result r = Shell.script(processor, script);
        return new String[] {r.out(), r.err(), r.summary()};
    }

    @Test
    public void ioasidCommands() throws Exception {
        String[] r = run("ioasid:mkset vm1 10; ioasid:alloc 1; ioasid:attach 1 101; ioasid:ids");
        assertEquals("", r[1]);
        assertEquals("", r[2]);
        assertTrue(r[0], r[0].contains("IOASID 1 allocated in set 1"));
        assertTrue(r[0], r[0].contains("IOASID 1 has SPID 101"));
        assertTrue(r[0], r[0].contains("ID  SET  STATE"));
    }

    @Test
    public void errorsAreOneLineAndTheScriptGoesOn() throws Exception {
        String[] r = run("ioasid:free 42; ioasid:alloc; ioasid:get x; ioasid:capacity");
        assertEquals(r[1], List3.of("ENOENT: unknown IOASID 42", "EINVAL: alloc: wrong number of "
                + "arguments; help alloc shows its forms", "EINVAL: ID 'x' is not a number"),
                r[1].lines().toList());
        assertTrue(r[0], r[0].startsWith("capacity 1048576"));
        assertTrue(r[2], r[2].endsWith(": 3 commands failed"));
    }

    @Test
    public void iommuCommands() throws Exception {
        Configs.smmu("smmu0", "0000:00:01.0;sid=0x8;pasid=16").create(ca);
        String[] r = run("iommu:await 1; iommu:backends; iommu:groups; "
                + "iommu:probe 0000:00:01.0 0x1000; iommu:log smmu0 3");
        assertEquals("", r[1]);
        assertTrue(r[0], r[0].contains("1 backends ready"));
        assertTrue(r[0], r[0].matches("(?s).*smmu0 +smmuv3.*"));
        assertTrue(r[0], r[0].contains("FAULT F_TRANSLATION"));
        assertTrue(r[0], r[0].contains("CMD_SYNC"));
        await("nothing else", () -> iommu.backends().length == 1);
    }

    /** List.of with a name that reads well in an assertion. */
    static final class List3 {
        static java.util.List<String> of(String... s) {
            return java.util.List.of(s);
        }
    }
}
