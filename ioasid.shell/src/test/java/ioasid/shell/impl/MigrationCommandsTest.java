package ioasid.shell.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import org.apache.felix.gogo.runtime.CommandProcessorImpl;
import org.apache.felix.gogo.runtime.threadio.ThreadIOImpl;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.SetOwner;
import ioasid.api.SetState;
import ioasid.api.TokenType;
import ioasid.api.dto.SetExportFile;
import ioasid.core.impl.IoasidCore;
import ioasid.testkit.Expect;

/**
 * The migration commands (decision D36) through a real Gogo session over two real cores, the
 * platform's space and a host space named host0: the scripted flow of docs/operator-guide.md,
 * the set file's format, and operator mistakes answered in one line with nothing changed.
 */
class MigrationCommandsTest {
    private final IoasidCore platform = new IoasidCore(20, 10_000);
    private final IoasidCore host = new IoasidCore(20, 10_000);
    private final IoasidCommands ioasid = new IoasidCommands();
    private final MigrationCommands migration = new MigrationCommands();
    private final ThreadIOImpl tio = new ThreadIOImpl();
    private CommandSession session;
    @TempDir
    Path dir;

    @BeforeEach
    void wire() {
        ioasid.ioasid = platform;
        migration.ioasid = platform;
        migration.bindHost(host, Map.of(MigrationCommands.HOST_NAME, "host0"));
        tio.start();
        CommandProcessorImpl processor = new CommandProcessorImpl(tio);
        processor.addConverter(new ShellConverter());
        for (String f : new String[] {"sets", "mkset", "alloc", "attach", "ids", "get", "free"}) {
            processor.addCommand("ioasid", ioasid, f);
        }
        for (String f : new String[] {"exportset", "importset", "freeset"}) {
            processor.addCommand("ioasid", migration, f);
        }
        session = processor.createSession(InputStream.nullInputStream(), System.out, System.err);
    }

    @AfterEach
    void close() {
        session.close();
        tio.stop();
        platform.close();
        host.close();
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
        return Arrays.toString(platform.ids(null, 1000)) + Arrays.toString(platform.sets())
                + Arrays.toString(host.ids(null, 1000)) + Arrays.toString(host.sets());
    }

    /** Fails with the errno, in one line, with nothing changed; returns the message. */
    private String fails(Errno errno, String statement) {
        String before = state();
        IoasidException e = Expect.errno(errno, () -> session.execute(statement));
        assertEquals(before, state(), "state unchanged by " + statement);
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    /** vm1 in the platform's space: IDs 5 (SPID 101), 6 (none), 7 (SPID 103, referenced). */
    private IoasidSet vm1() {
        IoasidSet s = platform.createSet(TokenType.NONE, "vm1", 100);
        platform.attachSpid(platform.alloc(s, 5, 5, null), 101);
        platform.alloc(s, 6, 6, null);
        IoasidHandle seven = platform.alloc(s, 7, 7, null);
        platform.attachSpid(seven, 103);
        platform.get(seven);
        return s;
    }

    private String file(String name) {
        return dir.resolve(name).toString();
    }

    @Test
    @DisplayName("D36: the scripted flow of the operator guide: export, free, import elsewhere")
    void scriptedFlow() throws Exception {
        IoasidSet s = vm1();
        IoasidSet other = host.createSet(TokenType.NONE, "other", 10);
        host.alloc(other, 6, 6, null); // 6 is taken on the host
        session.put("file", file("vm1.set"));
        Object last = session.execute("f = (ioasid:exportset " + s.id() + " $file)\n"
                + "ioasid:freeset " + s.id() + "\n"
                + "ioasid:importset -s host0 $f\n");
        assertEquals("set 2 (NONE vm1) imported into host0 from " + file("vm1.set")
                + ": 3 IDs, 2 kept their ID, 1 got a new one\n"
                + "SPID  OLD  NEW\n"
                + "101   5    5\n"
                + "6     6    1\n"
                + "103   7    7", ((Reply) last).text());
        assertEquals(2, ((Reply) last).value());
        assertEquals("[7]", Arrays.toString(Arrays.stream(platform.ids(null, 10))
                .mapToInt(d -> d.id).toArray()), "the source keeps 7 while it is referenced");
        platform.put(platform.find(null, 7));
        assertEquals(0, platform.sets().length, "the source set went with its last ID");
        IoasidSet moved = host.findSet(TokenType.NONE, "vm1");
        assertEquals(1, host.findBySpid(moved, 6, false).id());
        assertEquals("IDLE", host.findBySpid(moved, 103, false).state().name());
    }

    @Test
    @DisplayName("exportset, freeset and importset say what they did, with references left")
    void replies() {
        IoasidSet s = vm1();
        assertEquals("set 1 (NONE vm1) of platform exported to " + file("a") + ": 3 IDs\n",
                run("ioasid:exportset " + s.id() + " " + file("a")));
        run("ioasid:free 7"); // FREE_PENDING: a reference is left
        assertEquals("set 1 (NONE vm1) of platform exported to " + file("b")
                + ": 2 IDs; 1 FREE_PENDING left behind: 7\n",
                run("ioasid:exportset " + s.id() + " " + file("b")));
        assertEquals("set 1 of platform: 2 IDs freed; FREE_PENDING until its last 1 IDs are "
                + "put\n", run("ioasid:freeset 1"));
        assertTrue(fails(Errno.EBUSY, "ioasid:exportset 1 " + file("c")).contains("being freed"));
        String imported = run("ioasid:importset --limit 2 --space host0 " + file("a"));
        assertTrue(imported.startsWith("set 1 (NONE vm1) imported into host0 from " + file("a")
                + ": 3 IDs, 3 kept their ID, 0 got a new one\n"), imported);
        assertTrue(imported.endsWith("(2 of 3 shown; --limit shows more)\n"), imported);
        assertEquals("set 1 of host0: 3 IDs freed; set freed\n", run("ioasid:freeset -s host0 1"));
    }

    @Test
    @DisplayName("freeset of a set already FREE_PENDING frees its IDs and the set goes with them")
    void freesetOfAPendingSet() {
        IoasidSet plain = platform.createSet(TokenType.NONE, "plain", 10);
        platform.alloc(plain, 1, 100, null);
        platform.alloc(plain, 1, 100, null);
        assertFalse(platform.freeSet(plain));
        assertEquals("set " + plain.id() + " of platform: 2 IDs freed; set freed\n",
                run("ioasid:freeset " + plain.id()), "no EINVAL after the IDs went");
        assertEquals(SetState.FREED, plain.state());
        IoasidSet s = vm1();
        assertFalse(platform.freeSet(s), "FREE_PENDING: it holds IDs");
        assertEquals("set " + s.id() + " of platform: 3 IDs freed; FREE_PENDING until its last 1 "
                + "IDs are put\n", run("ioasid:freeset " + s.id()), "7 keeps a reference");
        assertEquals(SetState.FREE_PENDING, s.state());
        platform.put(platform.find(s, 7));
        assertEquals(SetState.FREED, s.state(), "the set went with its last ID");
    }

    @Test
    @DisplayName("the set file: plain, versioned, in a fixed order")
    void fileFormat() throws Exception {
        IoasidSet s = vm1();
        IoasidHandle eight = platform.alloc(s, 8, 8, null);
        platform.get(eight);
        platform.free(eight);
        run("ioasid:exportset " + s.id() + " " + file("vm1.set"));
        assertEquals("ioasid-set 1\nset 1\ntype NONE\ntoken vm1\nowner -\nquota 100\nbits 20\n"
                + "members 3\nmember 5 101 IDLE 1\nmember 6 6 IDLE 1\nmember 7 103 ACTIVE 2\n"
                + "free-pending 8\nend\n",
                Files.readString(dir.resolve("vm1.set"), StandardCharsets.UTF_8));
        IoasidSet anon = platform.createSet(TokenType.NONE, null, 3);
        run("ioasid:exportset " + anon.id() + " " + file("anon.set"));
        assertEquals("ioasid-set 1\nset 2\ntype NONE\ntoken -\nowner -\nquota 3\nbits 20\n"
                + "members 0\nfree-pending -\nend\n",
                Files.readString(dir.resolve("anon.set"), StandardCharsets.UTF_8));
        assertEquals(platform.exportSet(s).toString(),
                SetExportFile.read(SetExportFile.write(platform.exportSet(s)), "x").toString());
    }

    private static final String GOOD = "ioasid-set 1\nset 1\ntype NONE\ntoken vm1\nowner -\n"
            + "quota 10\nbits 20\nmembers 2\nmember 5 101 IDLE 1\nmember 6 6 ACTIVE 3\n"
            + "free-pending -\nend\n";

    /** Writes the text to a file and expects its import to fail with EINVAL; the message. */
    private String badFile(String text) throws Exception {
        Path p = dir.resolve("bad.set");
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return fails(Errno.EINVAL, "ioasid:importset -s host0 " + p);
    }

    @Test
    @DisplayName("D36: a set file with anything malformed is refused in one line naming the line")
    void malformedFiles() throws Exception {
        assertTrue(run("ioasid:importset -s host0 " + write("good.set", GOOD))
                .contains("2 IDs, 2 kept"));
        run("ioasid:freeset -s host0 1");
        assertTrue(badFile("").contains("does not end with a line break"));
        assertTrue(badFile(GOOD.replace("ioasid-set 1", "ioasid-set 2")).endsWith(
                "line 1: format 2 is not 1, the one this platform reads"));
        assertTrue(badFile("PK\u0003\u0004garbage\n").contains(
                "line 1: 'ioasid-set ...' expected, found 'PK??garbage'"));
        assertTrue(badFile(GOOD.replace("quota 10\n", "")).contains(
                "line 6: 'quota ...' expected, found 'bits 20'"));
        assertTrue(badFile(GOOD.replace("quota 10", "quota  10")).contains(
                "line 6: ' 10' is not a number"));
        assertTrue(badFile(GOOD.replace("quota 10", "quota -1")).contains("'-1' is not a number"));
        assertTrue(badFile(GOOD.replace("quota 10", "quota 010")).contains("not a number"));
        assertTrue(badFile(GOOD.replace("quota 10", "quota 99999999999")).contains("too large"));
        assertTrue(badFile(GOOD.replace("members 2", "members 3")).contains("line 11"));
        assertTrue(badFile(GOOD.replace("members 2", "members 1")).contains(
                "line 10: 'free-pending ...' expected"));
        assertTrue(badFile(GOOD.replace("member 6 6 ACTIVE 3", "member 6 6 ACTIVE"))
                .contains("line 10: 'member' takes 4 fields, found 3"));
        assertTrue(badFile(GOOD + "\n").contains("line 13: nothing may follow 'end'"));
        assertTrue(badFile(GOOD + "extra\n").contains("nothing may follow 'end'"));
        assertTrue(badFile(GOOD.replace("end\n", "")).contains("'end' expected, the file ends"));
        assertTrue(badFile(GOOD.replace("\n", "\r\n")).contains("line 1"));
        assertTrue(badFile(GOOD.replace("token vm1", "token vm 1")).contains("one word"));
        assertTrue(badFile("# a comment\n" + GOOD).contains("line 1"));
        // well formed, but not a state a set can have: the core's checks, still one line
        assertTrue(badFile(GOOD.replace("member 6 6", "member 6 101")).contains("SPID 101"));
        assertTrue(badFile(GOOD.replace("member 6 6", "member 5 6")).contains("ID 5"));
        assertTrue(badFile(GOOD.replace("ACTIVE 3", "FREE_PENDING 3")).contains("FREE_PENDING"));
        assertTrue(badFile(GOOD.replace("type NONE", "type PASID")).contains("token type"));
        assertTrue(badFile(GOOD.replace("quota 10", "quota 1")).contains("quota 1"));
        assertTrue(badFile(GOOD.replace("member 5 101", "member 1048576 101"))
                .contains("1048576"));
        assertTrue(badFile(GOOD.replace("IDLE 1", "IDLE 2")).contains("references"));
        Files.createDirectory(dir.resolve("adir"));
        assertTrue(fails(Errno.EINVAL, "ioasid:importset " + dir.resolve("adir"))
                .endsWith("is not a file"));
        Files.write(dir.resolve("latin1.set"), new byte[] {'i', (byte) 0xE9, '\n'});
        assertTrue(fails(Errno.EINVAL, "ioasid:importset " + dir.resolve("latin1.set"))
                .endsWith("is not a set file (not UTF-8 text)"));
    }

    private String write(String name, String text) throws Exception {
        Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
        return file(name);
    }

    @Test
    @DisplayName("operator mistakes: a missing file, an unknown set or space, one line each")
    void mistakes() throws Exception {
        IoasidSet s = vm1();
        assertEquals("ENOENT: no file " + file("none.set"),
                fails(Errno.ENOENT, "ioasid:importset " + file("none.set")));
        assertEquals("ENOENT: no set 9", fails(Errno.ENOENT, "ioasid:exportset 9 " + file("x")));
        assertEquals("EINVAL: 'a?b' is not a file name",
                fails(Errno.EINVAL, "ioasid:importset 'a\u0000b'"));
        assertEquals("EINVAL: 'a?b' is not a file name",
                fails(Errno.EINVAL, "ioasid:exportset " + s.id() + " 'a\u0000b'"));
        assertFalse(Files.exists(dir.resolve("x")), "no file for a failed export");
        assertEquals("ENOENT: no IOASID space 'mars'; there are: platform, host0",
                fails(Errno.ENOENT, "ioasid:exportset -s mars " + s.id() + " " + file("x")));
        assertEquals("ENOENT: cannot write " + file("no/dir/x") + ": no such directory",
                fails(Errno.ENOENT, "ioasid:exportset " + s.id() + " " + file("no/dir/x")));
        assertEquals("ENOENT: no set 1", fails(Errno.ENOENT, "ioasid:freeset -s host0 1"));
        String f = run("ioasid:exportset " + s.id() + " " + file("vm1.set")).trim();
        assertTrue(f.endsWith("3 IDs"), f);
        assertTrue(fails(Errno.EEXIST, "ioasid:importset " + file("vm1.set"))
                .contains("token vm1 exists"));
        IoasidSet owned = platform.createSet(TokenType.NONE, "core", 5, new SetOwner("iommu"));
        platform.alloc(owned, 1, 100, null);
        assertEquals("EPERM: set " + owned.id() + " belongs to iommu, which alone may free it",
                fails(Errno.EPERM, "ioasid:freeset " + owned.id()));
        IoasidSet odd = platform.createSet(TokenType.NONE, "-", 5);
        assertTrue(fails(Errno.EINVAL, "ioasid:exportset " + odd.id() + " " + file("odd"))
                .contains("cannot be written to a set file"));
    }

    @Test
    @DisplayName("a host space that leaves is no longer named; the platform's always is")
    void hostsComeAndGo() {
        vm1();
        run("ioasid:exportset 1 " + file("vm1.set"));
        migration.unbindHost(host, Map.of(MigrationCommands.HOST_NAME, "host0"));
        assertEquals("ENOENT: no IOASID space 'host0'; there are: platform",
                fails(Errno.ENOENT, "ioasid:importset -s host0 " + file("vm1.set")));
    }
}
