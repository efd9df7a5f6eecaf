package ioasid.shell.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import org.apache.felix.gogo.runtime.CommandProcessorImpl;
import org.apache.felix.gogo.runtime.threadio.ThreadIOImpl;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.backend.smmuv3.impl.Smmuv3Backend;
import ioasid.core.impl.IoasidCore;
import ioasid.core.iommu.IommuCore;
import ioasid.core.iommufd.IommufdCore;
import ioasid.testkit.ComponentConfig;
import ioasid.testkit.Expect;

/**
 * The iommufd commands of the {@code iommu} scope over a real IOMMU core, a real SMMUv3 and the
 * iommufd layer, through a real Gogo session: IOAS and HWPT work, captured IDs, and one-line
 * failures that change nothing.
 */
class IommufdCommandsTest {
    private static final String DEV = "0000:00:01.0";

    private final IoasidCore core = new IoasidCore(20, 10_000);
    private final IommuCore iommu = new IommuCore(core, DomainType.DMA_FQ, 64);
    private final IommufdCore iommufd = new IommufdCore(iommu);
    private final IommufdCommands cmds = new IommufdCommands();
    private final ThreadIOImpl tio = new ThreadIOImpl();
    private CommandSession session;

    @BeforeEach
    void wire() {
        cmds.service = iommufd;
        Map<String, Object> p = new HashMap<>();
        p.put(Constants.SERVICE_ID, 1L);
        p.put(IommuBackend.NAME, "smmu0");
        iommu.bindBackend(new Smmuv3Backend(ComponentConfig.of(Smmuv3Backend.Config.class,
                Map.of("ioasid.iommu.name", "smmu0", "devices", new String[] {
                    DEV + ";sid=0x8;pasid=8", "0000:00:02.0;sid=0x10;pasid=8"}))), p);
        tio.start();
        CommandProcessorImpl processor = new CommandProcessorImpl(tio);
        processor.addConverter(new ShellConverter());
        for (String f : new String[] {"objects", "ioas", "map", "unmap", "reserve", "bind",
            "unbind", "hwpt", "attach", "detach", "replace", "destroy"}) {
            processor.addCommand("iommu", cmds, f);
        }
        session = processor.createSession(InputStream.nullInputStream(), System.out, System.err);
    }

    @AfterEach
    void close() {
        session.close();
        tio.stop();
        cmds.close();
        iommufd.close();
    }

    private String run(String statement) {
        try {
            Object r = session.execute(statement);
            return r == null ? "" : session.format(r, Converter.INSPECT) + "\n";
        } catch (Exception e) {
            throw new AssertionError(statement + " failed: " + e, e);
        }
    }

    private String state() {
        return run("iommu:objects") + Arrays.toString(iommu.groups())
                + Arrays.toString(iommu.domains());
    }

    private String fails(Errno errno, String statement) {
        String before = state();
        IoasidException e = Expect.errno(errno, () -> session.execute(statement));
        assertEquals(before, state(), "state unchanged by " + statement);
        return e.getMessage();
    }

    @Test
    @DisplayName("an IOAS is allocated, mapped at fixed and allocated IOVAs, shown, and unmapped "
            + "(rules 121-123)")
    void ioasWork() throws Exception {
        assertEquals("no iommufd object\n", run("iommu:objects"));
        assertEquals("IOAS 1 allocated\n", run("iommu:ioas"));
        assertEquals("mapped 0x2000 bytes at IOVA 0x100000\n",
                run("iommu:map 1 0x100000 0x80000000 0x2000"));
        assertEquals("mapped 0x1000 bytes at IOVA 0x1000\n",
                run("iommu:map 1 0x80002000 0x1000"));
        assertEquals("mapped 0x1000 bytes at IOVA 0x200000\n",
                run("iommu:map 1 0x200000 0x90000000 0x1000 r"));
        String shown = run("iommu:ioas 1");
        assertTrue(shown.contains("0x100000  0x101fff  0x2000  0x80000000  rw"), shown);
        assertTrue(shown.contains("0x90000000  r\n"), shown);
        assertTrue(shown.contains("IOVA ranges: [0x0, 0xffffffffffffffff]"), shown);
        assertEquals("unmapped 0x2000 bytes\n", run("iommu:unmap 1 0x100000 0x2000"));
        assertEquals("unmapped 0x2000 bytes\n", run("iommu:unmap 1"));
        assertEquals("unmapped 0x0 bytes\n", run("iommu:unmap 1"));
        assertEquals("reserved [0x0, 0xfff] in IOAS 1\n", run("iommu:reserve 1 0 0x1000"));
        assertTrue(run("iommu:ioas 1").contains("IOVA ranges: [0x1000, 0xffffffffffffffff]"));
        assertEquals("object 1 destroyed\n", run("iommu:destroy 1"));
    }

    @Test
    @DisplayName("devices: bind, attach to an IOAS (auto HWPT), a HWPT that follows the IOAS, "
            + "replace, detach, unbind; captured IDs feed the next command (rules 127, 128)")
    void deviceWork() throws Exception {
        session.execute("ioas = (iommu:ioas)");
        session.execute("dev = (iommu:bind " + DEV + ")");
        assertEquals("object 2 attached to HWPT 3\n", run("iommu:attach $dev $ioas"));
        String groups = Arrays.toString(iommu.groups());
        assertTrue(groups.contains("\"owner\":\"iommufd shell\""), groups);
        run("iommu:map $ioas 0x100000 0x80000000 0x1000");
        session.execute("hwpt = (iommu:hwpt $dev $ioas)");
        assertEquals("object 2 now on HWPT 4\n", run("iommu:replace $dev $hwpt"));
        String objects = run("iommu:objects");
        assertTrue(objects.contains("4   HWPT_PAGING  1      1"), objects);
        assertTrue(!objects.contains("(auto)"), "the auto HWPT went: " + objects);
        assertEquals("object 2 detached\n", run("iommu:detach $dev"));
        assertEquals("object 4 destroyed\n", run("iommu:destroy $hwpt"));
        assertEquals("object 2 unbound\n", run("iommu:unbind $dev"));
        assertTrue(Arrays.stream(iommu.groups()).allMatch(g -> g.owner == null));
    }

    @Test
    @DisplayName("bad input and refused calls: one precise line, the layer's errno, nothing "
            + "changed (D32, rules 120, 123, 128)")
    void failures() throws Exception {
        run("iommu:ioas");
        run("iommu:map 1 0x100000 0x80000000 0x2000");
        assertEquals("EINVAL: object ID 'x' is not a number", fails(Errno.EINVAL,
                "iommu:ioas x"));
        assertEquals("EINVAL: length '-1' is negative", fails(Errno.EINVAL,
                "iommu:unmap 1 0 -1"));
        assertEquals("EINVAL: access 'x' is r, w or rw", fails(Errno.EINVAL,
                "iommu:map 1 0 0 0x1000 x"));
        assertEquals("ENOENT: [0x100000, 0x100fff] splits area [0x100000, 0x101fff]",
                fails(Errno.ENOENT, "iommu:unmap 1 0x100000 0x1000"));
        fails(Errno.EEXIST, "iommu:map 1 0x101000 0x80000000 0x1000");
        fails(Errno.ENOENT, "iommu:ioas 7");
        fails(Errno.ENOENT, "iommu:destroy 0");
        fails(Errno.ENODEV, "iommu:bind 0000:99:00.0");
        run("iommu:bind " + DEV);
        fails(Errno.EBUSY, "iommu:bind " + DEV);
        fails(Errno.EBUSY, "iommu:destroy 2");
        fails(Errno.EINVAL, "iommu:replace 2 1");
        fails(Errno.EINVAL, "iommu:attach 2 2");
        run("iommu:attach 2 1");
        fails(Errno.EBUSY, "iommu:destroy 1");
        fails(Errno.EBUSY, "iommu:attach 2 1");
    }
}
