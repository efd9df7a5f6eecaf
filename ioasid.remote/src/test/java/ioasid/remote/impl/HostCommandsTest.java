package ioasid.remote.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.remote.SessionDTO;
import ioasid.core.impl.IoasidCore;

/** The host's migration commands as an operator types them: one line, state unchanged on error. */
class HostCommandsTest {
    private final IoasidCore coreA = new IoasidCore(20, 10_000);
    private final IoasidCore coreB = new IoasidCore(20, 10_000);
    private final HostService hostA = new HostService(coreA, HostServiceTest.SECRETS, 64, 1);
    private final HostService hostB = new HostService(coreB, HostServiceTest.SECRETS, 64, 2);
    private final HostCommands a = new HostCommands(hostA, "127.0.0.1:9301");
    private final HostCommands b = new HostCommands(hostB, "127.0.0.1:9302");

    private static IoasidException refused(Runnable r) {
        return assertThrows(IoasidException.class, r::run);
    }

    @Test
    void aSetMovesByFileAndEveryMistakeIsOneLineThatChangesNothing(@TempDir Path dir)
            throws Exception {
        hostA.frozenState(dir.resolve("frozen"));
        SessionDTO s = hostA.open("vm1", "s1");
        int x = hostA.alloc(s.session, 1, 100);
        int y = hostA.alloc(s.session, 1, 100);
        List<String> before = hostA.describe();

        assertEquals(Errno.ENOENT, refused(() -> a.export("vm1", dir + "/no/such/f")).errno());
        assertEquals(Errno.ENOENT, refused(() -> a.export("vm9", dir + "/f")).errno());
        assertEquals(Errno.ENOENT, refused(() -> a.export("vm2", dir + "/f")).errno(),
                "vm2 never connected");
        assertEquals(Errno.ENOENT, refused(() -> a.release("vm2")).errno());
        assertEquals(Errno.EINVAL, refused(() -> a.revoke("vm1")).errno());
        assertEquals(Errno.EINVAL, refused(() -> a.revoke("vm1", -1)).errno());
        assertEquals(Errno.EINVAL, refused(() -> a.revoke("vm1", x, 1 << 20)).errno());
        assertEquals(Errno.EINVAL, refused(() -> a.resume("vm1")).errno());
        assertEquals(before, hostA.describe(), "nothing changed, vm2 still never connected");
        assertTrue(before.contains("vm2 - never connected"), before.toString());
        assertEquals(y, hostA.alloc(s.session, 1, 100) - 1, "vm1 was never frozen");

        String file = dir.resolve("vm1.set").toString();
        String out = a.export("vm1", file);
        assertTrue(out.startsWith("guest vm1: set ") && out.contains(" with 3 IDs exported to "),
                out);
        assertTrue(Files.readString(Path.of(file)).startsWith("ioasid-set 1\n"));
        assertTrue(hostA.describe().get(0).startsWith("vm1 set ") && hostA.describe().get(0)
                .contains(" exported held 3 "), hostA.describe().toString());
        assertEquals(Errno.ENOENT, refused(() -> b._import(dir + "/missing.set")).errno());
        Files.writeString(dir.resolve("bad.set"), "ioasid-set 1\nset 2\n");
        assertEquals(Errno.EINVAL, refused(() -> b._import(dir + "/bad.set")).errno());
        assertEquals(0, coreB.stats().live);
        String in = b._import(file);
        assertTrue(in.startsWith("vm1: set ") && in.contains("with 3 IDs imported from "), in);
        assertEquals(Errno.EEXIST, refused(() -> b._import(file)).errno());
        SessionDTO onB = hostB.open("vm1", "s1");
        assertEquals(3, hostB.claim(onB.session, new int[] {x, y, y + 1}).claimed.length);
        // the host role restarts (a changed configuration) before the old set is released:
        // the new service still refuses the guest, and finds the set by its token
        HostService restarted = new HostService(coreA, HostServiceTest.SECRETS, 64, 3);
        restarted.frozenState(dir.resolve("frozen"));
        assertEquals(Errno.EBUSY, refused(() -> restarted.open("vm1", "s1")).errno());
        assertEquals(List.of("vm1"), Files.readAllLines(dir.resolve("frozen")));
        assertEquals("guest vm1 released: 3 IDs and its set freed on this host",
                new HostCommands(restarted, "127.0.0.1:9301").release("vm1"));
        assertEquals(0, coreA.stats().live);
        assertEquals(Errno.ENOENT, refused(() -> a.release("vm1")).errno());
        assertEquals(List.of(), Files.readAllLines(dir.resolve("frozen")));
        assertEquals(64, restarted.open("vm1", "s1").quota, "released: vm1 may come back");
    }

    @Test
    void aFrozenNameWhoseSetIsGoneIsDropped(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("frozen"), List.of("vm1", "vm9"));
        HostService fresh = new HostService(new IoasidCore(20, 10_000), HostServiceTest.SECRETS,
                64, 4);
        fresh.frozenState(dir.resolve("frozen")); // the whole runtime restarted: no sets
        assertEquals(64, fresh.open("vm1", "s1").quota, "not refused");
        assertEquals(List.of(), Files.readAllLines(dir.resolve("frozen")));
    }
}
