package ioasid.remote.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.dto.SetExportDTO;
import ioasid.api.dto.SetExportFile;
import ioasid.api.remote.GuestListener;
import ioasid.api.remote.SessionDTO;
import ioasid.core.impl.IoasidCore;

/**
 * The host's notices to a guest's listener, the operator's revocation, and the migration of a
 * guest's set between two hosts while the guest keeps its SPIDs (decision D38).
 */
class NoticesAndMigrationTest {
    private final IoasidCore coreA = new IoasidCore(20, 10_000);
    private final IoasidCore coreB = new IoasidCore(20, 10_000);
    private final HostService hostA = new HostService(coreA, HostServiceTest.SECRETS, 64, 1);
    private final HostService hostB = new HostService(coreB, HostServiceTest.SECRETS, 64, 2);
    /** Listener endpoints each host imported, and the notices delivered, in order. */
    private final List<String> imported = new ArrayList<>();
    private final List<String> closedImports = new ArrayList<>();
    private final GuestLinkTest.Wire wire = new GuestLinkTest.Wire();
    private int ups;
    private int downs;
    private final GuestLink link = new GuestLink(() -> wire, "127.0.0.1:9301", "vm1", "s1",
            () -> ups++, () -> downs++);
    private final GuestSpace space = new GuestSpace(link);
    private final GuestNotices notices = new GuestNotices(link);

    NoticesAndMigrationTest() {
        link.space(space);
        link.listener("tcp://127.0.0.1:40001");
        for (HostService h : List.of(hostA, hostB)) {
            // the "wire" to the guest's listener: calls reach it at once
            h.listeners(endpoint -> {
                imported.add(endpoint);
                return new HostService.Imported() {
                    @Override
                    public GuestListener listener() {
                        return notices;
                    }

                    @Override
                    public void close() {
                        closedImports.add(endpoint);
                    }
                };
            }, Set.of("127.0.0.1"), Runnable::run);
        }
    }

    private static Errno errno(Runnable r) {
        return assertThrows(IoasidException.class, r::run).errno();
    }

    private IoasidSet connectedSet() {
        wire.host = hostA;
        link.step();
        assertEquals(1, ups);
        return space.createSet(TokenType.NONE, "vcmd:vm1", 0);
    }

    @Test
    void aListenerEndpointIsCheckedBeforeTheHostImportsIt() {
        SessionDTO s = hostA.open("vm1", "s1");
        assertEquals(Errno.EPERM, errno(() -> hostA.listen("forged", "tcp://127.0.0.1:1")));
        for (String bad : new String[] {null, "", "127.0.0.1:4000", "tcp://127.0.0.1",
            "tcp://127.0.0.1:99999", "http://127.0.0.1:80", "tcp://127.0.0.1:80/x"}) {
            assertEquals(Errno.EINVAL, errno(() -> hostA.listen(s.session, bad)), bad);
        }
        IoasidException e = assertThrows(IoasidException.class,
                () -> hostA.listen(s.session, "tcp://10.0.0.9:4000"));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().contains("listener.hosts"), e.getMessage());
        assertEquals(List.of(), imported, "nothing imported for a refused endpoint");
        hostA.listen(s.session, "tcp://127.0.0.1:4000");
        hostA.listen(s.session, "tcp://127.0.0.1:4001");
        assertEquals(List.of("tcp://127.0.0.1:4000"), closedImports, "a later call replaces");
        hostA.open("vm1", "s1");
        assertEquals(List.of("tcp://127.0.0.1:4000", "tcp://127.0.0.1:4001"), closedImports,
                "a new session lets the old listener go");
    }

    @Test
    void aRevocationReachesTheGuestAtOnceAndSticks() {
        IoasidSet set = connectedSet();
        assertEquals(List.of("tcp://127.0.0.1:40001"), imported, "the guest gave its listener");
        IoasidHandle a = space.alloc(set, 1, 100, null);
        IoasidHandle b = space.alloc(set, 1, 100, null);
        IoasidHandle c = space.alloc(set, 1, 100, null);
        assertEquals(Errno.ENOENT, errno(() -> hostA.revoke("vm1", new int[] {a.id(), 99})));
        assertEquals(Errno.ENOENT, errno(() -> hostA.revoke("vm1", new int[] {a.id(), a.id()})));
        assertEquals(Errno.ENOENT, errno(() -> hostA.revoke("vm9", new int[] {a.id()})));
        assertEquals(3, hostA.held(link.session()).length, "nothing changed by a refusal");
        hostA.revoke("vm1", new int[] {c.id(), a.id()});
        link.step(); // the notice rang; the step asks the host
        assertTrue(a.revoked() && c.revoked() && !b.revoked());
        assertEquals(Errno.ENOENT, errno(() -> space.free(a)));
        assertArrayEquals(new int[] {b.id()}, space.heldSpids());
        assertEquals(0, downs, "a revocation does not take the host space down");
        // the freed host IDs are not given to this guest again before its next claim
        IoasidHandle d = space.alloc(set, 1, 100, null);
        assertFalse(d.id() == a.id() || d.id() == c.id(), "got " + d.id());
        // a guest that missed the notice has the revoked SPIDs reported lost by the claim
        SessionDTO again = hostA.open("vm1", "s1");
        hostA.revoke("vm1", new int[] {b.id()});
        var claim = hostA.claim(again.session, new int[] {b.id(), d.id()});
        assertArrayEquals(new int[] {b.id()}, claim.lost);
        assertArrayEquals(new int[] {d.id()}, claim.claimed);
    }

    @Test
    void anIdFreedOnTheHostByAnyoneElseIsRevokedFromTheGuest() {
        java.util.Map<String, Object> props = new java.util.HashMap<>();
        props.put(ioasid.api.spi.IoasidListener.EVENTS, "FREE");
        props.put(org.osgi.framework.Constants.SERVICE_ID, 1L);
        coreA.bindListener(e -> {
            if (!e.replay()) {
                hostA.freed(e.set(), e.id(), e.spid());
            }
        }, props);
        IoasidSet set = connectedSet();
        IoasidHandle a = space.alloc(set, 1, 100, null);
        IoasidHandle b = space.alloc(set, 1, 100, null);
        space.free(b); // the guest's own free, and the host service's: no news
        link.step();
        assertFalse(a.revoked());
        IoasidHandle again = space.alloc(set, 1, 100, null);
        assertEquals(b.id(), again.id(), "the guest's own free revoked nothing");
        space.free(again);
        // the host's console frees a guest's PASID behind the host service's back
        IoasidSet guestSet = coreA.findSet(TokenType.NONE, "guest:vm1");
        coreA.free(coreA.find(guestSet, a.id()));
        link.step();
        assertTrue(a.revoked(), "the guest no longer uses it: the host may give it to another");
        assertEquals(Errno.ENOENT, errno(() -> space.free(a)));
        SessionDTO vm2 = hostA.open("vm2", "s2");
        assertEquals(a.id(), hostA.alloc(vm2.session, 1, 100), "another guest gets it, once");
        assertFalse(Arrays.stream(space.heldSpids()).anyMatch(i -> i == a.id()));
    }

    @Test
    void anIdGivenAgainBeforeItsNoticeLeavesTheOldHandleLost() {
        IoasidSet set = connectedSet();
        IoasidHandle a = space.alloc(set, 1, 100, null);
        // the host's console frees it and nobody tells the guest (no FREE listener here); the
        // host service, not knowing either, gives the same ID to the same guest again
        coreA.free(coreA.find(coreA.findSet(TokenType.NONE, "guest:vm1"), a.id()));
        IoasidHandle again = space.alloc(set, 1, 100, null);
        assertEquals(a.id(), again.id());
        assertTrue(a.revoked(), "the old handle is lost");
        assertEquals(Errno.ENOENT, errno(() -> space.free(a)));
        assertEquals(1, set.size());
        space.free(again);
        assertArrayEquals(new int[0], hostA.held(link.session()));
    }

    @Test
    void aNoticeForAnotherSessionIsIgnored() {
        IoasidSet set = connectedSet();
        IoasidHandle a = space.alloc(set, 1, 100, null);
        notices.revoked("forged", new int[] {a.id()}, "x");
        notices.ended(null, "x");
        notices.revoked(link.session() + "x", new int[] {a.id()}, "x");
        link.step();
        assertFalse(a.revoked());
        assertEquals(0, downs);
        assertTrue(link.status().contains("notices ignored 3"), link.status());
        // a right session with nothing revoked on the host: the guest asks and loses nothing
        notices.revoked(link.session(), new int[] {a.id()}, "forged on the wire");
        link.step();
        assertFalse(a.revoked(), "the host still holds it: the doorbell alone takes nothing");
    }

    @Test
    void aSetMigratesBetweenHostsAndTheGuestKeepsEverySpid() {
        IoasidSet set = connectedSet();
        List<IoasidHandle> handles = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            handles.add(space.alloc(set, 1, 100, null));
        }
        space.free(handles.remove(2));
        int[] spids = space.heldSpids();
        // host B's own guest took the low IDs: the imported set gets other host IDs there
        SessionDTO vm2 = hostB.open("vm2", "s2");
        for (int i = 0; i < 4; i++) {
            hostB.alloc(vm2.session, 1, 100);
        }

        String file = SetExportFile.write(hostA.export("vm1"));
        link.step(); // the ended notice rang: the link pauses, the host space stays
        assertEquals(0, downs, "a planned move does not tear the guest's vIOMMUs down");
        assertNull(link.session());
        link.step(); // host A refuses the guest now, with a reason
        assertTrue(link.status().contains("refused by the host: EBUSY"), link.status());
        assertEquals(Errno.EBUSY, errno(() -> hostA.open("vm1", "s1")));
        assertEquals(Errno.EPERM, errno(() -> hostA.open("vm1", "s2")),
                "a wrong secret still learns nothing");
        assertEquals(Errno.EAGAIN, errno(() -> space.alloc(set, 1, 100, null)));
        assertEquals(file, SetExportFile.write(hostA.export("vm1")), "export again: same");

        IoasidSet onB = hostB.importGuest(SetExportFile.read(file, "vm1.set"));
        assertEquals(Errno.EEXIST, errno(() -> hostB.importGuest(SetExportFile.read(file, "f"))));
        link.retarget(() -> wire, "127.0.0.1:9302", "vm1", "s1");
        wire.host = hostB;
        link.step();
        assertEquals(2, ups);
        assertTrue(link.status().contains("moved to host 127.0.0.1:9302: claimed 5, lost 0, "
                + "released 0"), link.status());
        assertArrayEquals(spids, space.heldSpids(), "the guest's PASIDs did not change");
        assertArrayEquals(spids, hostB.held(link.session()));
        Set<Integer> hostIds = new TreeSet<>();
        for (var d : coreB.ids(onB, 100)) {
            hostIds.add(d.id);
        }
        assertNotEquals(new TreeSet<>(Arrays.stream(spids).boxed().toList()), hostIds,
                "host IDs changed where B's own guest held them");
        for (IoasidHandle h : handles) {
            space.free(h); // frees by SPID on host B
        }
        assertArrayEquals(new int[0], hostB.held(link.session()));
        IoasidHandle next = space.alloc(set, 1, 100, null);
        assertFalse(Arrays.stream(hostB.held(vm2.session)).anyMatch(i -> i == next.id()));

        assertEquals(5, hostA.release("vm1"), "the last step on the old host");
        assertEquals(0, coreA.stats().live);
        assertEquals(Errno.ENOENT, errno(() -> hostA.release("vm1")));
        assertEquals(Errno.ENOENT, errno(() -> hostA.resume("vm1")), "released: no set");
    }

    @Test
    void withoutAListenerTheGuestLearnsOfTheMoveFromItsNextCallAndPauses() {
        link.listener(null);
        IoasidSet set = connectedSet();
        assertEquals(List.of(), imported);
        IoasidHandle a = space.alloc(set, 1, 100, null);
        hostA.export("vm1");
        IoasidException e = assertThrows(IoasidException.class,
                () -> space.alloc(set, 1, 100, null));
        assertEquals(Errno.EAGAIN, e.errno());
        assertTrue(e.getMessage().contains("moving this guest"), e.getMessage());
        link.step();
        assertNull(link.session());
        assertEquals(0, downs, "paused, not gone: the vIOMMUs keep their PASIDs");
        assertTrue(link.status().contains("refused by the host: EBUSY"),
                "paused, then refused by the old host: " + link.status());
        assertFalse(a.revoked());
    }

    @Test
    void aFrozenGuestsPingPauses() {
        link.listener(null);
        connectedSet();
        hostA.export("vm1");
        link.step(); // the ping answers EBUSY: the next step pauses
        link.step();
        assertEquals(0, downs);
        assertNull(link.session());
    }

    @Test
    void anExportUndoneLetsTheGuestBack() {
        IoasidSet set = connectedSet();
        IoasidHandle a = space.alloc(set, 1, 100, null);
        assertEquals(Errno.ENOENT, errno(() -> hostA.export("vm2")), "vm2 never connected");
        assertEquals(Errno.ENOENT, errno(() -> hostA.export("vm9")));
        hostA.export("vm1");
        link.step();
        link.step();
        assertNull(link.session());
        hostA.resume("vm1");
        link.step();
        assertTrue(link.status().contains("reconnected: claimed 1, lost 0"), link.status());
        assertArrayEquals(new int[] {a.id()}, hostA.held(link.session()));
    }

    @Test
    void anImportIsRefusedForSetsThatAreNotAnAdmittedGuests() {
        SessionDTO s = hostA.open("vm1", "s1");
        hostA.alloc(s.session, 1, 100);
        SetExportDTO state = coreA.exportSet(coreA.findSet(TokenType.NONE, "guest:vm1"));
        state.token = "guest:vm9";
        assertEquals(Errno.EINVAL, errno(() -> hostB.importGuest(state)));
        state.token = "vm1";
        assertEquals(Errno.EINVAL, errno(() -> hostB.importGuest(state)));
        assertEquals(Errno.EINVAL, errno(() -> hostB.importGuest(null)));
        state.token = "guest:vm2";
        hostB.open("vm2", "s2"); // vm2 has a set on B already
        assertEquals(Errno.EEXIST, errno(() -> hostB.importGuest(state)));
        assertEquals(0, coreB.stats().live, "nothing changed on B");
    }
}
