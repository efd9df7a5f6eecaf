package ioasid.shell.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.lang.reflect.Proxy;
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
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.backend.smmuv3.impl.Smmuv3Backend;
import ioasid.core.impl.IoasidCore;
import ioasid.core.iommu.IommuCore;
import ioasid.testkit.ComponentConfig;
import ioasid.testkit.Expect;

/**
 * The Gogo commands over real cores and a real SMMUv3, through a real Gogo session with the
 * shell's converter: replies, captured values, and failures that change nothing.
 */
class CommandsTest {
    private final IoasidCore core = new IoasidCore(20, 10_000);
    private final IommuCore iommu = new IommuCore(core, DomainType.DMA_FQ, 64);
    private final IoasidCommands ioasid = new IoasidCommands();
    private final IommuCommands io = new IommuCommands();
    private final ThreadIOImpl tio = new ThreadIOImpl();
    private CommandSession session;

    @BeforeEach
    void wire() {
        ioasid.ioasid = core;
        io.iommu = iommu;
        Map<String, Object> p = new HashMap<>();
        p.put(Constants.SERVICE_ID, 1L);
        p.put(IommuBackend.NAME, "smmu0");
        iommu.bindBackend(new Smmuv3Backend(ComponentConfig.of(Smmuv3Backend.Config.class,
                Map.of("ioasid.iommu.name", "smmu0", "devices", "0000:00:01.0;sid=0x8;pasid=8"))),
                p);
        tio.start();
        CommandProcessorImpl processor = new CommandProcessorImpl(tio);
        processor.addConverter(new ShellConverter());
        for (String f : new String[] {"sets", "mkset", "rmset", "alloc", "free", "get", "put",
            "find", "ids", "attach", "detach", "spaces", "allocators", "listeners", "capacity",
            "stats"}) {
            processor.addCommand("ioasid", ioasid, f);
        }
        for (String f : new String[] {"backends", "devices", "groups", "domains", "pasids",
            "viommus", "log", "probe", "await"}) {
            processor.addCommand("iommu", io, f);
        }
        session = processor.createSession(InputStream.nullInputStream(), System.out, System.err);
    }

    @AfterEach
    void close() {
        session.close();
        tio.stop();
    }

    /** Runs one statement; returns what a console prints for its result, with a line break. */
    private String run(String statement) {
        try {
            Object r = session.execute(statement);
            return r == null ? "" : session.format(r, Converter.INSPECT) + "\n";
        } catch (Exception e) {
            throw new AssertionError(statement + " failed: " + e, e);
        }
    }

    /** Runs a statement and returns its value, as a variable would hold it. */
    private Object value(String statement) throws Exception {
        return ((Reply) session.execute(statement)).value();
    }

    /** Creates a set through the command and returns its number as typed. */
    private String mkset(String token, String quota) throws Exception {
        return String.valueOf(value("ioasid:mkset " + token + " " + quota));
    }

    private String state() {
        return Arrays.toString(core.ids(null, 1000)) + Arrays.toString(core.sets())
                + Arrays.toString(iommu.groups()) + Arrays.toString(iommu.domains());
    }

    /** A statement expected to fail with the errno and to change nothing; returns the message. */
    private String fails(Errno errno, String statement) {
        String before = state();
        IoasidException e = Expect.errno(errno, () -> session.execute(statement));
        assertEquals(before, state(), "state unchanged by " + statement);
        return e.getMessage();
    }

    /** A statement Gogo refuses before any command runs (no form takes these arguments). */
    private void wrongArguments(String statement) {
        String before = state();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> session.execute(statement));
        assertTrue(e.getMessage().startsWith("Cannot coerce"), e.getMessage());
        assertEquals(before, state());
    }

    @Test
    @DisplayName("sets: create, list, allocate, show, reference, free, remove")
    void setLifeCycle() throws Exception {
        String made = run("ioasid:mkset vm1 100");
        assertTrue(made.matches("set \\d+ created \\(NONE vm1, quota 100\\)\n"), made);
        String set = made.split(" ")[1];
        assertEquals("IOASID 1 allocated in set " + set + "\n", run("ioasid:alloc " + set));
        assertEquals("IOASID 5 allocated in set " + set + "\n",
                run("ioasid:alloc " + set + " 5 0x10"));
        assertTrue(run("ioasid:sets").contains("vm1"));
        assertEquals("IOASID 1 [set " + set + ", IDLE, refs 1]\n", run("ioasid:find 1"));
        assertEquals("IOASID 1: 2 references\n", run("ioasid:get 1"));
        assertEquals("IOASID 1 is FREE_PENDING\n", run("ioasid:free 1"));
        assertEquals("IOASID 1 reclaimed\n", run("ioasid:put 1"));
        assertEquals("set " + set + " is FREE_PENDING: it holds 1 IDs\n",
                run("ioasid:rmset " + set));
        assertEquals("IOASID 5 is FREE\n", run("ioasid:free 5"));
        assertTrue(!run("ioasid:sets").contains("vm1"), "gone with its last ID");
    }

    @Test
    @DisplayName("a captured reply is a value: alloc's ID feeds free, mkset's number feeds alloc")
    void capturedValues() throws Exception {
        run("s = (ioasid:mkset vm1 10)");
        run("id = (ioasid:alloc $s)");
        assertEquals(1, value("ioasid:find $id"));
        assertEquals("IOASID 1 is FREE\n", run("ioasid:free $id"));
        assertEquals("1", String.valueOf(session.get("id")), "\"$id\" reads as the number");
    }

    @Test
    @DisplayName("bulk: alloc -n and free of a range do the loop in Java, all or nothing")
    void bulk() throws Exception {
        String set = mkset("vm1", "1000");
        assertEquals("500 IOASIDs allocated in set " + set + ": 1-500\n",
                run("ioasid:alloc -n 500 " + set));
        assertEquals(500, core.stats().live);
        assertEquals("500 IOASIDs freed\n", run("ioasid:free 1-500"));
        run("ids = (ioasid:alloc --count 3 " + set + " 10 20)");
        assertEquals("3 IOASIDs freed\n", run("ioasid:free $ids"));
        assertEquals(0, core.stats().live);

        String small = mkset("vm2", "4");
        String m = fails(Errno.ENOSPC, "ioasid:alloc -n 5 " + small);
        assertTrue(m.contains("allocated 4 of 5, freed them again"), m);
        assertEquals(0, core.stats().live, "nothing kept from a failed bulk allocation");
        run("ioasid:alloc " + small);
        m = fails(Errno.ENOENT, "ioasid:free 1,7");
        assertEquals(1, core.stats().live, "an unknown ID frees nothing of the list");
        assertEquals("IOASID 1 is FREE\n", run("ioasid:free 1"));
        fails(Errno.EINVAL, "ioasid:free 9-3");
        fails(Errno.E2BIG, "ioasid:free 1-99999999");
        fails(Errno.EINVAL, "ioasid:alloc -n 0 " + small);
    }

    @Test
    @DisplayName("SPIDs attach and detach; ids lists them")
    void spids() throws Exception {
        String set = mkset("vm1", "10");
        run("ioasid:alloc " + set);
        assertEquals("IOASID 1 has SPID 101 in set " + set + "\n", run("ioasid:attach 1 101"));
        assertTrue(run("ioasid:ids").contains("101"));
        assertTrue(run("ioasid:ids " + set).contains("101"));
        assertEquals("IOASID 1 has no SPID\n", run("ioasid:detach 1"));
    }

    @Test
    @DisplayName("bad input: one precise message quoting what was typed, nothing changed")
    void badInput() throws Exception {
        String set = mkset("vm1", "10");
        run("ioasid:alloc " + set);
        wrongArguments("ioasid:alloc");
        wrongArguments("ioasid:alloc " + set + " 5");
        wrongArguments("ioasid:put");
        wrongArguments("ioasid:attach 1");
        wrongArguments("ioasid:sets extra");
        assertEquals("EINVAL: set 'abc' is not a number", fails(Errno.EINVAL, "ioasid:alloc abc"));
        fails(Errno.ENOENT, "ioasid:alloc 9");
        fails(Errno.EINVAL, "ioasid:alloc " + set + " 0 10");
        assertEquals("EINVAL: min 10 is above max 5",
                fails(Errno.EINVAL, "ioasid:alloc " + set + " 10 5"));
        fails(Errno.ENOENT, "ioasid:free 77");
        assertEquals("EINVAL: ID '-5' is negative", fails(Errno.EINVAL, "ioasid:free -5"));
        assertEquals("EINVAL: ID '99999999999' is not in [0, 2147483647]",
                fails(Errno.EINVAL, "ioasid:free 99999999999"));
        assertEquals("EINVAL: ID '0xFFFFFFFFFFFFFFFF' is not in [0, 2147483647]",
                fails(Errno.EINVAL, "ioasid:free 0xFFFFFFFFFFFFFFFF"));
        assertEquals("EINVAL: ID 'x1' is not a number", fails(Errno.EINVAL, "ioasid:get x1"));
        fails(Errno.EINVAL, "ioasid:detach 1");
        fails(Errno.EEXIST, "ioasid:mkset vm1");
        fails(Errno.EINVAL, "ioasid:mkset vm2 5 PID");
        assertEquals("EINVAL: token is empty", fails(Errno.EINVAL, "ioasid:mkset ''"));
        assertEquals("EINVAL: token 'a b' has white space or control characters",
                fails(Errno.EINVAL, "ioasid:mkset 'a b'"));
        fails(Errno.ENOENT, "ioasid:rmset 42");
    }

    @Test
    @DisplayName("D19: sets labels the IOMMU core's own set, rmset refuses it in one line, and "
            + "global PASIDs still come from it")
    void platformOwnedSet() throws Exception {
        String[] lines = run("ioasid:sets").split("\n");
        assertTrue(lines[0].matches("SET +TYPE +TOKEN +OWNER +QUOTA +SIZE .*"), lines[0]);
        assertTrue(lines[1].matches("1 +NONE +- +iommu-core +64 +0 .*"), lines[1]);
        assertEquals("EPERM: set 1 belongs to iommu-core, which alone may free it",
                fails(Errno.EPERM, "ioasid:rmset 1"));
        IoasidHandle p = iommu.allocGlobalPasid("0000:00:01.0");
        assertEquals(1, p.set().id());
        assertEquals("1", run("ioasid:ids").split("\n")[1].split(" +")[1], "in set 1");

        String vm = mkset("vm1", "10");
        String sets = run("ioasid:sets");
        assertTrue(sets.matches("(?s).*\n" + vm + " +NONE +vm1 +- +10 .*"), "no owner: " + sets);
        assertEquals("set " + vm + " freed\n", run("ioasid:rmset " + vm));
        assertEquals(String.valueOf(Integer.parseInt(vm) + 1), mkset("vm2", "10"),
                "D19: a freed set's number is not given again");
        assertEquals("ENOENT: set " + vm + " was freed",
                fails(Errno.ENOENT, "ioasid:rmset " + vm));
    }

    @Test
    @DisplayName("mkset with quota 0 says it took the available capacity and how to undo it")
    void quotaZero() {
        String r = run("ioasid:mkset all 0");
        assertTrue(r.contains("quota 0 took all the capacity still available; ioasid:rmset "),
                r);
        assertEquals(0, core.capacity().available);
    }

    @Test
    @DisplayName("spaces, allocators, listeners, capacity and stats read as text")
    void overviews() {
        assertTrue(run("ioasid:spaces").contains("default"));
        assertEquals("no custom allocator: the default allocator is active\n",
                run("ioasid:allocators"));
        assertTrue(run("ioasid:listeners").startsWith("SERVICE"));
        assertEquals("capacity 1048576, available 1048512, 20-bit IDs up to 1048575\n",
                run("ioasid:capacity"));
        assertTrue(run("ioasid:stats").startsWith("live 0, allocations 0"));
    }

    @Test
    @DisplayName("iommu: backends, devices, groups and domains are listed")
    void iommuLists() {
        assertTrue(run("iommu:backends").contains("smmu0"));
        assertTrue(run("iommu:devices").contains("0000:00:01.0"));
        assertTrue(run("iommu:groups").contains("DMA_FQ"));
        assertTrue(run("iommu:domains").contains("default"));
        assertEquals("no PASID attached\n", run("iommu:pasids"));
        assertEquals("no vIOMMU\n", run("iommu:viommus"));
        assertTrue(run("iommu:log smmu0 5").contains("CMD_SYNC"));
        assertTrue(run("iommu:log smmu0").contains("CMD_SYNC"));
    }

    @Test
    @DisplayName("iommu probe: what the hardware does with a DMA, mapped or not")
    void probe() {
        IommuDomain d = iommu.domainAlloc("0000:00:01.0", false);
        iommu.attachGroup(d, iommu.group("0000:00:01.0"));
        iommu.map(d, 0x10000, 0x7000000, 0x1000, Prot.READ);
        assertEquals("0000:00:01.0 pasid 0 READ 0x10010: TRANSLATED to 0x7000010 by domain "
                + d.id() + "\n", run("iommu:probe 0000:00:01.0 0x10010"));
        assertTrue(run("iommu:probe 0000:00:01.0 0x10010 0 w").contains("FAULT"),
                "read-only mapping");
        fails(Errno.ENODEV, "iommu:probe nope 0x10");
        assertEquals("EINVAL: IOVA 'zz' is not a number",
                fails(Errno.EINVAL, "iommu:probe 0000:00:01.0 zz"));
        assertEquals("EINVAL: IOVA '-1' is negative",
                fails(Errno.EINVAL, "iommu:probe 0000:00:01.0 -1"));
        assertEquals("EINVAL: IOVA '0x1ffffffffffffffff' is larger than 64 bits",
                fails(Errno.EINVAL, "iommu:probe 0000:00:01.0 0x1ffffffffffffffff"));
        fails(Errno.EINVAL, "iommu:probe 0000:00:01.0 0x10 0 x");
        fails(Errno.ENODEV, "iommu:log nope");
        wrongArguments("iommu:log");
    }

    @Test
    @DisplayName("iommu backends: the FAULTS column counts the probe's faults by kind")
    void backendFaults() {
        assertTrue(run("iommu:backends").contains("FAULTS"));
        String before = run("iommu:backends").lines().skip(1).findFirst().orElseThrow();
        assertTrue(before.contains(" 0 "), before);
        run("iommu:probe 0000:00:01.0 0x10010");
        run("iommu:probe 0000:00:01.0 0x20010");
        String after = run("iommu:backends").lines().skip(1).findFirst().orElseThrow();
        assertTrue(after.contains(" 2 (translation 2) "), after);
    }

    @Test
    @DisplayName("iommu await: returns once enough backends serve, EAGAIN after the timeout, "
            + "EINVAL for a negative count or a timeout outside [0 ms, 1 h]")
    void waitForBackends() {
        assertEquals("1 backends ready\n", run("iommu:await 1"));
        fails(Errno.EAGAIN, "iommu:await 2 50");
        fails(Errno.EINVAL, "iommu:await 1 -1");
        fails(Errno.EINVAL, "iommu:await -1");
        // past an hour is refused rather than overflowing the deadline into an instant EAGAIN
        fails(Errno.EINVAL, "iommu:await 2 9300000000000");
        fails(Errno.EINVAL, "iommu:await 2 3600001");
    }

    @Test
    @DisplayName("iommu await COUNT polls the core's count, never a snapshot of every backend, and "
            + "returns once the count is reached")
    void waitCountsCheaply() {
        int[] polls = {0};
        io.iommu = (ioasid.api.iommu.IommuService) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {ioasid.api.iommu.IommuService.class},
                (p, m, a) -> {
                    if (!m.getName().equals("backendCount")) {
                        throw new AssertionError(m.getName() + " called");
                    }
                    return ++polls[0] < 3 ? 1 : 1000;
                });
        assertEquals("1000 backends ready\n", run("iommu:await 1000"));
        assertEquals(3, polls[0], "polled until the count came");
    }

    @Test
    @DisplayName("iommu await without a count: returns once the readiness condition is there, "
            + "EAGAIN after the timeout, ENOENT without the health checks")
    void waitForReadiness() {
        fails(Errno.ENOENT, "iommu:await");
        int[] looks = {0};
        boolean[] healthUp = {true};
        Bundle health = (Bundle) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {Bundle.class}, (p, m, a) -> m.getName().equals("getState")
                        ? (healthUp[0] ? Bundle.ACTIVE : Bundle.RESOLVED) : "ioasid.health");
        io.context = (BundleContext) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {BundleContext.class}, (p, m, a) -> {
                    if (m.getName().equals("getBundles")) {
                        return new Bundle[] {health};
                    }
                    assertEquals(IommuCommands.READY, a[1]);
                    return ++looks[0] < 3 ? null : new ServiceReference<?>[1];
                });
        assertEquals("platform ready\n", run("iommu:await"));
        assertEquals(3, looks[0], "looked until the condition came");
        looks[0] = -1_000_000;
        io.readyMs = 50;
        fails(Errno.EAGAIN, "iommu:await");
        healthUp[0] = false;
        fails(Errno.ENOENT, "iommu:await");
    }

    @Test
    @DisplayName("a table aligns its columns and shows missing cells as '-'")
    void table() {
        Table t = new Table("A", "BBB").row("xx", null).row("y", "z");
        assertEquals("A   BBB\nxx  -\ny   z\n", t.toString());
        assertEquals(2, t.size());
    }
}
