package ioasid.remote.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.TokenType;
import ioasid.api.remote.ClaimDTO;
import ioasid.api.remote.SessionDTO;
import ioasid.core.impl.IoasidCore;

class HostServiceTest {
    static final GuestSecrets SECRETS = GuestSecrets.parse(new String[] {
        "vm1=" + GuestSecrets.hash("s1"), "vm2=" + GuestSecrets.hash("s2")});

    private IoasidCore core = new IoasidCore(20, 10_000);
    private HostService host = new HostService(core, SECRETS, 16, 42);

    private static Errno errno(Runnable r) {
        return assertThrows(IoasidException.class, r::run).errno();
    }

    @Test
    void aRefusedCallerLearnsNothingAndChangesNothing() {
        int sets = core.sets().length;
        IoasidException wrongSecret = assertThrows(IoasidException.class,
                () -> host.open("vm1", "s2"));
        IoasidException noGuest = assertThrows(IoasidException.class,
                () -> host.open("vm9", "s1"));
        assertEquals(Errno.EPERM, wrongSecret.errno());
        assertEquals(wrongSecret.getMessage(), noGuest.getMessage(), "one answer for both");
        assertEquals(Errno.EPERM, errno(() -> host.ping("forged")));
        assertEquals(Errno.EPERM, errno(() -> host.alloc("forged", 1, 100)));
        assertEquals(Errno.EPERM, errno(() -> host.claim("forged", new int[] {1})));
        assertEquals(Errno.EPERM, errno(() -> host.alloc(null, 1, 100)));
        assertEquals(sets, core.sets().length, "no set created for a refused caller");
        assertEquals(0, core.stats().live);
    }

    @Test
    void aGuestAllocatesSpidsEqualToHostIdsInItsOwnSet() {
        SessionDTO s1 = host.open("vm1", "s1");
        SessionDTO s2 = host.open("vm2", "s2");
        assertEquals(42, s1.epoch);
        assertEquals(16, s1.quota);
        assertNotEquals(s1.setId, s2.setId);
        assertEquals(s1.setId, core.findSet(TokenType.NONE, "guest:vm1").id());
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            int a = host.alloc(s1.session, 1, 1000);
            int b = host.alloc(s2.session, 1, 1000);
            assertTrue(seen.add(a) && seen.add(b), "no ID in two guests");
            assertEquals(a, core.find(core.findSet(s1.setId), a).spid(), "SPID = host ID");
        }
        assertEquals(5, host.held(s1.session).length);
        int first = host.held(s1.session)[0];
        host.free(s1.session, first);
        assertEquals(4, host.held(s1.session).length);
        assertEquals(Errno.ENOENT, errno(() -> host.free(s1.session, first)));
        int other = host.held(s2.session)[0];
        assertEquals(Errno.ENOENT, errno(() -> host.free(s1.session, other)),
                "another guest's ID is not the caller's to free");
        assertEquals(5, host.held(s2.session).length);
    }

    @Test
    void theQuotaAndTheRangeAreTheHosts() {
        SessionDTO s = host.open("vm1", "s1");
        for (int i = 0; i < 16; i++) {
            host.alloc(s.session, 1, 1000);
        }
        assertEquals(Errno.ENOSPC, errno(() -> host.alloc(s.session, 1, 1000)));
        assertEquals(Errno.EINVAL, errno(() -> host.alloc(s.session, 5, 4)));
    }

    @Test
    void aNewSessionEndsTheOldOneAndKeepsTheIds() {
        SessionDTO old = host.open("vm1", "s1");
        int id = host.alloc(old.session, 1, 100);
        SessionDTO now = host.open("vm1", "s1");
        assertEquals(Errno.EPERM, errno(() -> host.ping(old.session)));
        assertArrayEquals(new int[] {id}, host.held(now.session));
        assertEquals(1, now.held);
        host.close(now.session);
        assertEquals(Errno.EPERM, errno(() -> host.held(now.session)));
    }

    @Test
    void claimKeepsWhatIsHeldAndReleasesWhatIsNotListed() {
        SessionDTO s = host.open("vm1", "s1");
        int a = host.alloc(s.session, 1, 100);
        int b = host.alloc(s.session, 1, 100);
        ClaimDTO c = host.claim(s.session, new int[] {a});
        assertArrayEquals(new int[] {a}, c.claimed);
        assertArrayEquals(new int[0], c.lost);
        assertArrayEquals(new int[] {b}, c.released);
        assertArrayEquals(new int[] {a}, host.held(s.session));
    }

    @Test
    void aBadClaimChangesNothing() {
        SessionDTO s = host.open("vm1", "s1");
        int a = host.alloc(s.session, 1, 100);
        assertEquals(Errno.EINVAL, errno(() -> host.claim(s.session, new int[] {a, a})));
        assertEquals(Errno.EINVAL, errno(() -> host.claim(s.session, new int[] {0})));
        assertEquals(Errno.EINVAL, errno(() -> host.claim(s.session, new int[] {1 << 20})));
        assertEquals(Errno.EINVAL, errno(() -> host.claim(s.session, null)));
        assertArrayEquals(new int[] {a}, host.held(s.session));
    }

    @Test
    void aHostWithNoMemoryGivesBackWhatIsFreeAndLosesWhatAnotherGuestTookFirst() {
        SessionDTO s1 = host.open("vm1", "s1");
        int a = host.alloc(s1.session, 1, 100);
        int b = host.alloc(s1.session, 1, 100);
        // the host restarts: a new space, a new epoch
        core = new IoasidCore(20, 10_000);
        host = new HostService(core, SECRETS, 16, 43);
        SessionDTO s2 = host.open("vm2", "s2");
        assertEquals(a, host.alloc(s2.session, 1, 100), "vm2 takes vm1's first ID");
        SessionDTO again = host.open("vm1", "s1");
        assertEquals(43, again.epoch);
        assertEquals(0, again.held);
        ClaimDTO c = host.claim(again.session, new int[] {b, a});
        assertArrayEquals(new int[] {b}, c.claimed);
        assertArrayEquals(new int[] {a}, c.lost);
        assertArrayEquals(new int[] {b}, host.held(again.session));
        assertArrayEquals(new int[] {a}, host.held(s2.session), "never in two guests");
    }

    @Test
    void aHostIdWhoseSpidIsTakenIsSkipped() {
        SessionDTO s = host.open("vm1", "s1");
        // the set was given other host IDs (a migration): host ID 5 carries SPID 1
        var set = core.findSet(s.setId);
        core.attachSpid(core.alloc(set, 5, 5, null), 1);
        assertEquals(2, host.alloc(s.session, 1, 10), "host ID 1 would need SPID 1: skipped");
        assertEquals(2, core.stats().live, "host ID 1 went back");
        assertArrayEquals(new int[] {1, 2}, host.held(s.session));
        assertEquals(Errno.ENOSPC, errno(() -> host.alloc(s.session, 1, 1)));
    }

    @Test
    void theHostsOperatorCannotFreeAGuestsSet() {
        SessionDTO s = host.open("vm1", "s1");
        assertEquals(Errno.EPERM, errno(() -> core.freeSet(core.findSet(s.setId))));
    }
}
