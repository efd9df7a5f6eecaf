package ioasid.shell.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;

import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.backend.smmuv3.impl.Smmuv3Backend;
import ioasid.core.impl.IoasidCore;
import ioasid.core.iommu.IommuCore;

/** The Gogo commands over real cores and a real SMMUv3: output, and one-line errors. */
class CommandsTest {
    private final IoasidCore core = new IoasidCore(20, 10_000);
    private final IommuCore iommu = new IommuCore(core, DomainType.DMA_FQ, 64);
    private final IoasidCommands ioasid = new IoasidCommands();
    private final IommuCommands io = new IommuCommands();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream savedOut;
    private PrintStream savedErr;

    @BeforeEach
    void wire() {
        ioasid.ioasid = core;
        io.iommu = iommu;
        Map<String, Object> p = new HashMap<>();
        p.put(Constants.SERVICE_ID, 1L);
        p.put(IommuBackend.NAME, "smmu0");
        iommu.bindBackend(new Smmuv3Backend("smmu0", List.of("0000:00:01.0;sid=0x8;pasid=8"),
                new Smmuv3Backend.Hardware()), p);
        savedOut = System.out;
        savedErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(savedOut);
        System.setErr(savedErr);
    }

    /** What a command printed; it must not report an error. */
    private String run(Runnable command) {
        out.reset();
        err.reset();
        command.run();
        assertEquals("", err.toString(StandardCharsets.UTF_8), "no error expected");
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Creates a set through the command and returns its ID as the commands take it. */
    private String mkset(String... a) {
        String text = run(() -> ioasid.mkset(a));
        assertTrue(text.startsWith("set "), text);
        return text.split(" ")[1];
    }

    private String state() {
        return Arrays.toString(core.ids(null, 1000)) + Arrays.toString(core.sets())
                + Arrays.toString(iommu.groups()) + Arrays.toString(iommu.domains());
    }

    /** A command expected to fail: one error line with the errno, no output, nothing changed. */
    private String fails(String errno, Runnable command) {
        String before = state();
        out.reset();
        err.reset();
        command.run();
        String text = err.toString(StandardCharsets.UTF_8);
        assertTrue(text.startsWith(errno + ": "), text);
        assertEquals(1, text.lines().count(), "one line: " + text);
        assertTrue(!text.contains("\tat "), "no stack trace: " + text);
        assertEquals("", out.toString(StandardCharsets.UTF_8), "nothing printed on success's side");
        assertEquals(before, state(), "state unchanged");
        return text;
    }

    @Test
    @DisplayName("sets: create, list, allocate, show, reference, free, remove")
    void setLifeCycle() {
        String made = run(() -> ioasid.mkset("vm1", "100"));
        assertTrue(made.matches("set \\d+ created \\(NONE vm1, quota 100\\)\n"), made);
        String set = made.split(" ")[1];
        assertEquals("IOASID 1 allocated in set " + set + "\n", run(() -> ioasid.alloc(set)));
        assertEquals("IOASID 5 allocated in set " + set + "\n",
                run(() -> ioasid.alloc(set, "5", "0x10")));
        assertTrue(run(() -> ioasid.sets()).contains("vm1"));
        assertEquals("IOASID 1 [set " + set + ", IDLE, refs 1]\n", run(() -> ioasid.find("1")));
        assertEquals("IOASID 1: 2 references\n", run(() -> ioasid.get("1")));
        assertEquals("IOASID 1 is FREE_PENDING\n", run(() -> ioasid.free("1")));
        assertEquals("IOASID 1 reclaimed\n", run(() -> ioasid.put("1")));
        assertEquals("set " + set + " is FREE_PENDING: it holds 1 IDs\n",
                run(() -> ioasid.rmset(set)));
        assertEquals("IOASID 5 is FREE\n", run(() -> ioasid.free("5")));
        assertTrue(!run(() -> ioasid.sets()).contains("vm1"), "gone with its last ID");
    }

    @Test
    @DisplayName("SPIDs attach and detach; ids lists them")
    void spids() {
        String set = mkset("vm1", "10");
        run(() -> ioasid.alloc(set));
        assertEquals("IOASID 1 has SPID 101 in set " + set + "\n",
                run(() -> ioasid.attach("1", "101")));
        assertTrue(run(() -> ioasid.ids()).contains("101"));
        assertEquals("IOASID 1 has no SPID\n", run(() -> ioasid.detach("1")));
    }

    @Test
    @DisplayName("bad input: missing arguments, bad numbers, unknown IDs: one line, nothing changed")
    void badInput() {
        String set = mkset("vm1", "10");
        run(() -> ioasid.alloc(set));
        fails("EINVAL", () -> ioasid.alloc());
        fails("EINVAL", () -> ioasid.alloc(set, "5"));
        fails("EINVAL", () -> ioasid.alloc("abc"));
        fails("ENOENT", () -> ioasid.alloc("9"));
        fails("EINVAL", () -> ioasid.alloc(set, "0", "10"));
        fails("ENOENT", () -> ioasid.free("77"));
        fails("EINVAL", () -> ioasid.free("-5"));
        fails("EINVAL", () -> ioasid.free("99999999999"));
        fails("EINVAL", () -> ioasid.get("x1"));
        fails("EINVAL", () -> ioasid.put());
        fails("EINVAL", () -> ioasid.attach("1"));
        fails("EINVAL", () -> ioasid.detach("1"));
        fails("EEXIST", () -> ioasid.mkset("vm1"));
        fails("EINVAL", () -> ioasid.mkset("vm2", "5", "PID"));
        fails("EINVAL", () -> ioasid.sets("extra"));
        fails("ENOENT", () -> ioasid.rmset("42"));
    }

    @Test
    @DisplayName("spaces, allocators, listeners, capacity and stats read as text")
    void overviews() {
        assertTrue(run(() -> ioasid.spaces()).contains("default"));
        assertEquals("no custom allocator: the default allocator is active\n",
                run(() -> ioasid.allocators()));
        assertTrue(run(() -> ioasid.listeners()).startsWith("SERVICE"));
        assertEquals("capacity 1048576, available 1048512, 20-bit IDs up to 1048575\n",
                run(() -> ioasid.capacity()));
        assertTrue(run(() -> ioasid.stats()).startsWith("live 0, allocations 0"));
    }

    @Test
    @DisplayName("iommu: backends, devices, groups and domains are listed")
    void iommuLists() {
        assertTrue(run(() -> io.backends()).contains("smmu0"));
        assertTrue(run(() -> io.devices()).contains("0000:00:01.0"));
        assertTrue(run(() -> io.groups()).contains("DMA_FQ"));
        assertTrue(run(() -> io.domains()).contains("default"));
        assertEquals("no PASID attached\n", run(() -> io.pasids()));
        assertEquals("no vIOMMU\n", run(() -> io.viommus()));
        assertTrue(run(() -> io.log("smmu0", "5")).contains("CMD_SYNC"));
    }

    @Test
    @DisplayName("iommu probe: what the hardware does with a DMA, mapped or not")
    void probe() {
        IommuDomain d = iommu.domainAlloc("0000:00:01.0", false);
        iommu.attachGroup(d, iommu.group("0000:00:01.0"));
        iommu.map(d, 0x10000, 0x7000000, 0x1000, Prot.READ);
        assertEquals("0000:00:01.0 pasid 0 READ 0x10010: TRANSLATED to 0x7000010 by domain "
                + d.id() + "\n", run(() -> io.probe("0000:00:01.0", "0x10010")));
        assertTrue(run(() -> io.probe("0000:00:01.0", "0x10010", "0", "w")).contains("FAULT"),
                "read-only mapping");
        fails("ENODEV", () -> io.probe("nope", "0x10"));
        fails("EINVAL", () -> io.probe("0000:00:01.0", "zz"));
        fails("EINVAL", () -> io.probe("0000:00:01.0", "0x10", "0", "x"));
        fails("ENODEV", () -> io.log("nope"));
        fails("EINVAL", () -> io.log());
    }

    @Test
    @DisplayName("iommu await: returns once enough backends serve, EAGAIN after the timeout, "
            + "EINVAL for a negative count or a timeout outside [0 ms, 1 h]")
    void waitForBackends() {
        assertEquals("1 backends ready\n", run(() -> io.await("1")));
        fails("EAGAIN", () -> io.await("2", "50"));
        fails("EINVAL", () -> io.await());
        fails("EINVAL", () -> io.await("1", "-1"));
        fails("EINVAL", () -> io.await("-1"));
        // past an hour is refused rather than overflowing the deadline into an instant EAGAIN
        fails("EINVAL", () -> io.await("2", "9300000000000"));
        fails("EINVAL", () -> io.await("2", "3600001"));
    }

    @Test
    @DisplayName("a table aligns its columns and shows missing cells as '-'")
    void table() {
        Table t = new Table("A", "BBB").row("xx", null).row("y", "z");
        assertEquals("A   BBB\nxx  -\ny   z\n", t.toString());
        assertEquals(2, t.size());
    }
}
