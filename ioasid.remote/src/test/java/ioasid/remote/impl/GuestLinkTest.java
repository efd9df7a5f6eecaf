package ioasid.remote.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.osgi.framework.ServiceException;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.SetOwner;
import ioasid.api.TokenType;
import ioasid.api.remote.ClaimDTO;
import ioasid.api.remote.HostIoasidService;
import ioasid.api.remote.SessionDTO;
import ioasid.core.impl.IoasidCore;

/** The guest's link and host space against an in-process host that can go away and return. */
class GuestLinkTest {
    /** The wire: passes calls to the host, or fails them as the TCP provider does. */
    static class Wire implements HostIoasidService {
        volatile HostIoasidService host;

        private HostIoasidService to() {
            HostIoasidService h = host;
            if (h == null) {
                throw new ServiceException("Error calling 127.0.0.1:9301",
                        ServiceException.REMOTE, new java.net.ConnectException("refused"));
            }
            return h;
        }

        @Override
        public SessionDTO open(String guest, String secret) {
            return to().open(guest, secret);
        }

        @Override
        public long ping(String session) {
            return to().ping(session);
        }

        @Override
        public int alloc(String session, int min, int max) {
            return to().alloc(session, min, max);
        }

        @Override
        public void free(String session, int spid) {
            to().free(session, spid);
        }

        @Override
        public int[] held(String session) {
            return to().held(session);
        }

        @Override
        public ClaimDTO claim(String session, int[] spids) {
            return to().claim(session, spids);
        }

        @Override
        public void listen(String session, String endpoint) {
            to().listen(session, endpoint);
        }

        @Override
        public void close(String session) {
            to().close(session);
        }
    }

    private IoasidCore core = new IoasidCore(20, 10_000);
    private HostService hostService = new HostService(core, HostServiceTest.SECRETS, 64, 1);
    private final Wire wire = new Wire();
    private int ups;
    private int downs;
    private final GuestLink link = guest("vm1", "s1");
    private final GuestSpace space = spaceOf(link);

    private GuestLink guest(String name, String secret) {
        return new GuestLink(() -> wire, "127.0.0.1:9301", name, secret, () -> ups++,
                () -> downs++);
    }

    private static GuestSpace spaceOf(GuestLink link) {
        GuestSpace s = new GuestSpace(link);
        link.space(s);
        return s;
    }

    private static Errno errno(Runnable r) {
        return assertThrows(IoasidException.class, r::run).errno();
    }

    @Test
    void theHostSpaceComesUpWhenTheHostAnswersAndAllocatesSpids() {
        link.step();
        assertEquals(0, ups, "no host yet");
        assertEquals(Errno.EAGAIN, errno(() -> space.alloc(space.createSet(TokenType.NONE,
                "vcmd:vm0", 0), 1, 100, null)));
        wire.host = hostService;
        link.step();
        assertEquals(1, ups);
        IoasidSet set = space.findSet(TokenType.NONE, "vcmd:vm0");
        assertEquals(64, space.createSet(TokenType.NONE, "later", 0).quota(),
                "0 takes the host's quota for the guest, once known");
        IoasidHandle h = space.alloc(set, 1, 100, "data");
        assertEquals(h.id(), h.spid());
        assertSame(h, space.find(set, h.id()));
        assertArrayEquals(new int[] {h.id()}, hostService.held(link.session()));
        space.free(h);
        assertEquals(IoasidState.FREE, h.state());
        assertArrayEquals(new int[0], hostService.held(link.session()));
        assertEquals(Errno.ENOENT, errno(() -> space.free(h)));
    }

    @Test
    void aGuestWithAWrongSecretNeverComesUpAndChangesNothing() {
        GuestLink bad = guest("vm1", "s2");
        GuestSpace badSpace = spaceOf(bad);
        wire.host = hostService;
        bad.step();
        bad.step();
        assertEquals(0, ups);
        assertNull(bad.session());
        assertEquals(0, core.sets().length, "no set made for the refused guest");
        assertTrue(bad.status().contains("refused by the host: EPERM"), bad.status());
        assertEquals(Errno.EAGAIN, errno(() -> badSpace.alloc(badSpace.createSet(TokenType.NONE,
                "t", 0), 1, 100, null)));
    }

    @Test
    void theHostGoingAwayTakesTheSpaceDownAndAReturnReconciles() {
        wire.host = hostService;
        link.step();
        IoasidSet set = space.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle kept = space.alloc(set, 1, 100, null);
        IoasidHandle freedWhileAway = space.alloc(set, 1, 100, null);
        wire.host = null; // the host process stops
        assertEquals(Errno.EAGAIN, errno(() -> space.alloc(set, 1, 100, null)),
                "a waiting allocation answers EAGAIN");
        assertTrue(link.broken());
        link.step();
        assertEquals(1, downs, "the space leaves at once after a failed call");
        assertNull(link.session());
        space.free(freedWhileAway); // kept local while the host is away
        assertEquals(1, set.size());
        wire.host = hostService; // the same host returns
        link.step();
        assertEquals(2, ups);
        assertArrayEquals(new int[] {kept.id()}, hostService.held(link.session()),
                "the ID freed while away is released on the host, the kept one claimed");
        assertFalse(kept.revoked());
    }

    @Test
    void aPingThatFailsTakesTheSpaceDown() {
        wire.host = hostService;
        link.step();
        link.step();
        assertEquals(0, downs);
        wire.host = null;
        link.step();
        assertEquals(1, downs);
        link.step();
        assertEquals(1, downs, "down once");
    }

    @Test
    void aHostRestartedWithNoMemoryGivesBackWhatItCanAndTheRestIsLost() {
        wire.host = hostService;
        link.step();
        IoasidSet set = space.createSet(TokenType.NONE, "vm", 0, new SetOwner("test"));
        IoasidHandle a = space.alloc(set, 1, 100, null);
        IoasidHandle b = space.alloc(set, 1, 100, null);
        // the host restarts with an empty space; vm2 connects first and takes a's ID
        core = new IoasidCore(20, 10_000);
        hostService = new HostService(core, HostServiceTest.SECRETS, 64, 2);
        wire.host = hostService;
        SessionDTO vm2 = hostService.open("vm2", "s2");
        assertEquals(a.id(), hostService.alloc(vm2.session, 1, 100));
        link.step(); // the ping finds the session unknown: down
        assertEquals(1, downs);
        link.step(); // and up again, reconciled
        assertEquals(2, ups);
        assertTrue(a.revoked());
        assertEquals(IoasidState.FREE, a.state());
        assertFalse(b.revoked());
        assertArrayEquals(new int[] {b.id()}, hostService.held(link.session()));
        assertArrayEquals(new int[] {a.id()}, hostService.held(vm2.session), "never in two");
        IoasidException e = assertThrows(IoasidException.class, () -> space.free(a));
        assertEquals(Errno.ENOENT, e.errno());
        assertTrue(e.getMessage().contains("was lost"), e.getMessage());
        assertEquals(Errno.ENOENT, errno(() -> space.find(null, a.id())));
        assertTrue(link.status().contains("lost at last reconcile: [" + a.id() + "]"),
                link.status());
        assertEquals(1, set.size());
        space.free(b);
        assertTrue(space.freeSet(set, set instanceof RemoteSet r ? r.owner : null));
    }

    @Test
    void anAllocationAnsweredAcrossAReconcileIsNotKept() {
        HostService[] next = {new HostService(new IoasidCore(20, 10_000),
                HostServiceTest.SECRETS, 64, 2)};
        wire.host = new Wire() {
            @Override
            public int alloc(String session, int min, int max) {
                int id = hostService.alloc(session, min, max);
                // the host restarts while the answer is on the wire; the link reconciles
                wire.host = next[0];
                link.step();
                link.step();
                return id;
            }

            @Override
            public SessionDTO open(String guest, String secret) {
                return hostService.open(guest, secret);
            }

            @Override
            public long ping(String session) {
                return hostService.ping(session);
            }

            @Override
            public ClaimDTO claim(String session, int[] spids) {
                return hostService.claim(session, spids);
            }
        };
        link.step();
        IoasidSet set = space.createSet(TokenType.NONE, "t", 0);
        assertEquals(Errno.EAGAIN, errno(() -> space.alloc(set, 1, 100, null)));
        assertEquals(0, set.size());
        assertArrayEquals(new int[0], space.heldSpids());
        assertArrayEquals(new int[0], next[0].held(link.session()), "the new host has none");
        assertEquals(1, space.alloc(set, 1, 100, null).id());
    }

    @Test
    void setsAreGuestSideViewsWithTheirOwnQuotaAndOwner() {
        wire.host = hostService;
        link.step();
        SetOwner owner = new SetOwner("vtd-vcmd");
        IoasidSet s = space.createSet(TokenType.NONE, "vcmd:vm0", 2, owner);
        assertEquals(Errno.EEXIST, errno(() -> space.createSet(TokenType.NONE, "vcmd:vm0", 2)));
        assertEquals(64, space.createSet(TokenType.NONE, "big", 100_000).quota(),
                "capped at the host's quota");
        space.alloc(s, 1, 100, null);
        IoasidHandle h = space.alloc(s, 1, 100, null);
        assertEquals(Errno.ENOSPC, errno(() -> space.alloc(s, 1, 100, null)));
        assertEquals(Errno.EPERM, errno(() -> space.freeSet(s)));
        assertFalse(space.freeSet(s, owner), "pending while it holds IDs");
        assertEquals(Errno.EBUSY, errno(() -> space.alloc(s, 1, 100, null)));
        space.freeAllInSet(s);
        assertEquals(Errno.ENOENT, errno(() -> space.findSet(s.id())));
        assertEquals(IoasidState.FREE, h.state());
    }

    @Test
    void whatTheHostOwnsIsRefusedWithEopnotsupp() {
        wire.host = hostService;
        link.step();
        IoasidSet s = space.createSet(TokenType.NONE, "t", 0);
        IoasidHandle h = space.alloc(s, 1, 100, null);
        assertEquals(Errno.EOPNOTSUPP, errno(() -> space.get(h)));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> space.put(h)));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> space.attachSpid(h, 7)));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> space.installCapacity(10)));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> space.occupancy(16)));
        assertEquals(1, space.idSpaces()[0].live);
        assertEquals(1 << 20, space.capacity().maxId + 1);
        assertEquals(1, space.ids(null, 10).length);
        assertNotNull(space.stats());
    }
}
