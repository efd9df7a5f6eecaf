package ioasid.core.impl;

import static ioasid.api.Errno.EAGAIN;
import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.EIO;
import static ioasid.api.Errno.ENOSPC;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidAllocator;
import ioasid.core.impl.IoasidFixture.Recorder;
import ioasid.core.impl.IoasidFixture.SpaceAllocator;
import ioasid.core.impl.IoasidFixture.SpaceAllocator.Helpers;
import ioasid.testkit.Expect;

/** Custom allocators as a ranked whiteboard: rules 13-32, decisions D4-D7, known bugs 4-6. */
class CustomAllocatorTest {
    private final IoasidFixture fx = new IoasidFixture();
    private final IoasidCore core = fx.core;
    private final IoasidSet set = core.createSet(TokenType.NONE, "guest", 10_000);

    private IdSpaceDTO activeSpace() {
        return Arrays.stream(core.idSpaces()).filter(s -> s.active).findFirst().orElseThrow();
    }

    private AllocatorDTO dto(long sid) {
        return fx.allocatorDto(sid);
    }

    @Test
    @DisplayName("rule 13: the default allocator is there with nothing registered, and returns")
    void defaultAlwaysPresent() {
        assertTrue(activeSpace().isDefault);
        assertEquals(0, core.allocators().length);
        SpaceAllocator a = new SpaceAllocator(new Helpers("host", 500), "a");
        long sid = fx.register(a);
        assertFalse(activeSpace().isDefault);
        fx.unregister(a, sid);
        assertTrue(activeSpace().isDefault);
        assertEquals(1, core.alloc(set, 1, 100, null).id());
    }

    @Test
    @DisplayName("rule 14: a custom allocator takes precedence over the default one")
    void customTakesPrecedence() {
        Helpers host = new Helpers("host", 500);
        long sid = fx.register(new SpaceAllocator(host, "a"));
        IoasidHandle h = core.alloc(set, 1, 1000, null);
        assertEquals(500, h.id());
        assertEquals(List.of("a:alloc"), host.calls);
        assertEquals(AllocatorDTO.ACTIVE, dto(sid).state);
        assertSame(h, core.find(set, 500));
    }

    @Test
    @DisplayName("rule 15, D4: registering while the default space holds IDs waits with EAGAIN, "
            + "then switches by itself")
    void waitsForDefaultSpaceToEmpty() {
        IoasidHandle native1 = core.alloc(set, 1, 100, null);
        Helpers host = new Helpers("host", 500);
        long sid = fx.register(new SpaceAllocator(host, "a"));
        AllocatorDTO d = dto(sid);
        assertEquals(AllocatorDTO.WAITING, d.state);
        assertEquals("EAGAIN", d.errno);
        assertTrue(d.reason.contains("holds 1 IDs"), d.reason);
        assertEquals(2, core.alloc(set, 1, 100, null).id(), "still the default allocator");
        core.free(set, 2);
        core.free(native1);
        assertEquals(AllocatorDTO.ACTIVE, dto(sid).state);
        assertEquals(500, core.alloc(set, 1, 1000, null).id());
    }

    @Test
    @DisplayName("rules 16, 29, D6, known bug 5: the same allocator registered twice is EEXIST and "
            + "leaves the group untouched")
    void duplicateRegistration() {
        Helpers host = new Helpers("host", 500);
        SpaceAllocator a = new SpaceAllocator(host, "a");
        SpaceAllocator a2 = new SpaceAllocator(host, "a2");
        long sid1 = fx.register(a);
        fx.register(a2);
        IoasidHandle h = core.alloc(set, 1, 1000, null);
        String spaces = Arrays.toString(core.idSpaces());
        long dup = fx.register(a);
        AllocatorDTO d = dto(dup);
        assertEquals(AllocatorDTO.REJECTED, d.state);
        assertEquals("EEXIST", d.errno);
        assertEquals(spaces, Arrays.toString(core.idSpaces()), "groups untouched");
        assertSame(h, core.find(set, h.id()));
        // when the registration it duplicated leaves, the duplicate stands in
        fx.unregister(a, sid1);
        assertEquals(AllocatorDTO.SHARING, dto(dup).state);
        assertEquals(IoasidState.IDLE, h.state());
    }

    @Test
    @DisplayName("rule 17, D5: allocators with the same helpers share one ID space")
    void sharedHelpersShareSpace() {
        Helpers host = new Helpers("host", 500);
        long s1 = fx.register(new SpaceAllocator(host, "viommu1"));
        long s2 = fx.register(new SpaceAllocator(host, "viommu2"));
        IdSpaceDTO[] spaces = core.idSpaces();
        assertEquals(2, spaces.length, "default plus one group");
        assertArrayEquals(new long[] {s1, s2}, spaces[1].members);
        assertEquals(AllocatorDTO.ACTIVE, dto(s1).state);
        assertEquals(AllocatorDTO.SHARING, dto(s2).state);
        assertEquals(500, core.alloc(set, 1, 1000, null).id());
        assertEquals(501, core.alloc(set, 1, 1000, null).id());
        assertEquals(2, activeSpace().live);
    }

    @Test
    @DisplayName("rule 18: a non-sharing allocator of equal ranking stands by behind the first")
    void secondGroupStandsBy() {
        long sa = fx.register(new SpaceAllocator(new Helpers("hostA", 500), "a"));
        long sb = fx.register(new SpaceAllocator(new Helpers("hostB", 900), "b"));
        assertEquals(AllocatorDTO.ACTIVE, dto(sa).state);
        assertEquals(AllocatorDTO.STANDBY, dto(sb).state);
        assertEquals(500, core.alloc(set, 1, 1000, null).id());
    }

    @Test
    @DisplayName("D4: a higher-ranked allocator takes over an empty space at once")
    void higherRankTakesEmptySpace() {
        long sa = fx.register(new SpaceAllocator(new Helpers("hostA", 500), "a"));
        long sb = fx.register(new SpaceAllocator(new Helpers("hostB", 900), "b"),
                Constants.SERVICE_RANKING, 10);
        assertEquals(AllocatorDTO.STANDBY, dto(sa).state);
        assertEquals(AllocatorDTO.ACTIVE, dto(sb).state);
        assertEquals(900, core.alloc(set, 1, 1000, null).id());
        assertEquals(1, core.stats().allocatorSwitches - 1, "default to a, a to b");
    }

    @Test
    @DisplayName("D4: a MIN_VALUE ranking comes after every other allocator")
    void minRanking() {
        long low = fx.register(new SpaceAllocator(new Helpers("low", 500), "low"),
                Constants.SERVICE_RANKING, Integer.MIN_VALUE);
        long zero = fx.register(new SpaceAllocator(new Helpers("zero", 900), "zero"));
        assertEquals(AllocatorDTO.ACTIVE, dto(zero).state);
        assertEquals(AllocatorDTO.STANDBY, dto(low).state);
        assertEquals(900, core.alloc(set, 1, 1000, null).id());
    }

    @Test
    @DisplayName("D4: a higher-ranked allocator waits while the active space holds IDs")
    void higherRankWaitsForIds() {
        SpaceAllocator a = new SpaceAllocator(new Helpers("hostA", 500), "a");
        long sa = fx.register(a);
        IoasidHandle h = core.alloc(set, 1, 1000, null);
        long sb = fx.register(new SpaceAllocator(new Helpers("hostB", 900), "b"),
                Constants.SERVICE_RANKING, 10);
        assertEquals(AllocatorDTO.WAITING, dto(sb).state);
        assertEquals("EAGAIN", dto(sb).errno);
        assertEquals(AllocatorDTO.ACTIVE, dto(sa).state);
        assertEquals(501, core.alloc(set, 1, 1000, null).id());
        core.free(set, 501);
        core.free(h);
        assertEquals(AllocatorDTO.ACTIVE, dto(sb).state);
        assertEquals(900, core.alloc(set, 1, 1000, null).id());
    }

    @Test
    @DisplayName("D4: a ranking change at runtime re-decides precedence under the same rule")
    void rankingChange() {
        SpaceAllocator a = new SpaceAllocator(new Helpers("hostA", 500), "a");
        SpaceAllocator b = new SpaceAllocator(new Helpers("hostB", 900), "b");
        long sa = fx.register(a);
        long sb = fx.register(b);
        assertEquals(AllocatorDTO.ACTIVE, dto(sa).state);
        fx.rerank(b, sb, 5);
        assertEquals(AllocatorDTO.ACTIVE, dto(sb).state);
        IoasidHandle h = core.alloc(set, 1, 1000, null);
        fx.rerank(a, sa, 50);
        assertEquals(AllocatorDTO.WAITING, dto(sa).state, "b's space holds an ID");
        core.free(h);
        assertEquals(AllocatorDTO.ACTIVE, dto(sa).state);
    }

    @Test
    @DisplayName("D4: within a helper group the highest-ranked member is called")
    void rankingWithinGroup() {
        Helpers host = new Helpers("host", 500);
        fx.register(new SpaceAllocator(host, "low"));
        long hi = fx.register(new SpaceAllocator(host, "high"), Constants.SERVICE_RANKING, 3);
        core.alloc(set, 1, 1000, null);
        assertEquals(List.of("high:alloc"), host.calls);
        assertEquals(AllocatorDTO.ACTIVE, dto(hi).state);
    }

    @Test
    @DisplayName("rule 19: an ID the framework already tracks is freed back, refused (EBUSY) and "
            + "counted as an allocator fault")
    void duplicateIdFreedBack() {
        List<Integer> freed = new java.util.ArrayList<>();
        IoasidAllocator liar = IoasidFixture.allocator("liar", (min, max) -> 600, freed::add);
        fx.register(liar);
        IoasidHandle first = core.alloc(set, 1, 1000, null);
        assertEquals(600, first.id());
        fx.unchanged(EBUSY, () -> core.alloc(set, 1, 1000, null));
        assertEquals(List.of(600), freed, "the duplicate went back to the allocator");
        assertEquals(1, set.size());
        assertEquals(1, core.stats().allocatorFaults, "an ID still in use is the allocator's fault");
    }

    @Test
    @DisplayName("rule 20: a custom allocator with nothing left is ENOSPC")
    void customExhausted() {
        fx.register(new SpaceAllocator(new Helpers("host", 500), "a"));
        core.alloc(set, 1, 500, null);
        fx.unchanged(ENOSPC, () -> core.alloc(set, 1, 500, null));
    }

    @Test
    @DisplayName("rule 21: free under a custom allocator returns the ID to it")
    void freeGoesToAllocator() {
        Helpers host = new Helpers("host", 500);
        fx.register(new SpaceAllocator(host, "a"));
        IoasidHandle h = core.alloc(set, 1, 1000, null);
        core.free(h);
        assertEquals(List.of("a:alloc", "a:free 500"), host.calls);
        assertEquals(0, host.outstanding());
    }

    @Test
    @DisplayName("rules 22, 27: unregistering what was never registered changes nothing")
    void unregisterUnknown() {
        fx.register(new SpaceAllocator(new Helpers("host", 500), "a"));
        String before = fx.state();
        core.unbindAllocator(new SpaceAllocator(new Helpers("x"), "x"), IoasidFixture.props());
        assertEquals(before, fx.state());
    }

    @Test
    @DisplayName("rule 25, known bug 4: a sharer leaving keeps the space, its IDs and the active group")
    void sharerLeavesIdsPreserved() {
        Helpers host = new Helpers("host", 500);
        SpaceAllocator a1 = new SpaceAllocator(host, "a1");
        long s1 = fx.register(a1);
        long s2 = fx.register(new SpaceAllocator(host, "a2"));
        IoasidHandle h = core.alloc(set, 1, 1000, null);
        fx.unregister(a1, s1);
        assertSame(h, core.find(set, h.id()));
        assertEquals(IoasidState.IDLE, h.state());
        assertFalse(h.revoked());
        assertEquals(AllocatorDTO.ACTIVE, dto(s2).state);
        assertEquals(1, activeSpace().live);
        assertEquals(0, core.stats().revoked);
    }

    @Test
    @DisplayName("rule 28, D5, known bug 6: when the head member leaves, the next member is called")
    void headLeavesNextPdataUsed() {
        Helpers host = new Helpers("host", 500);
        SpaceAllocator a1 = new SpaceAllocator(host, "a1");
        long s1 = fx.register(a1);
        fx.register(new SpaceAllocator(host, "a2"));
        IoasidHandle h = core.alloc(set, 1, 1000, null);
        fx.unregister(a1, s1);
        core.alloc(set, 1, 1000, null);
        core.free(h);
        assertEquals(List.of("a1:alloc", "a2:alloc", "a2:free 500"), host.calls);
    }

    @Test
    @DisplayName("rules 11, 24, D7, known bug 4: the last member leaving with IDs revokes them: "
            + "one FREE each, FREE_PENDING until the last put, findable meanwhile (unlike rule 11)")
    void lastMemberLeavesRevokes() {
        Recorder rec = new Recorder("iommu");
        fx.register(rec);
        Helpers host = new Helpers("host", 500);
        SpaceAllocator a = new SpaceAllocator(host, "a");
        long sa = fx.register(a);
        IoasidHandle idle = core.alloc(set, 1, 1000, null);
        IoasidHandle used = core.alloc(set, 1, 1000, null);
        core.get(used);
        fx.unregister(a, sa);
        assertEquals(2, core.stats().revoked);
        assertTrue(activeSpace().isDefault, "fell back to the default allocator");
        assertEquals(IoasidState.FREE, idle.state(), "no reference left: reclaimed at once");
        assertEquals(IoasidState.FREE_PENDING, used.state());
        assertTrue(used.revoked());
        assertSame(used, core.find(set, used.id()));
        assertEquals(List.of("ALLOC 500", "ALLOC 501", "FREE 500", "FREE 501"), rec.seen());
        assertEquals(List.of("a:alloc", "a:alloc"), host.calls, "nothing goes to a departed allocator");
        assertTrue(core.put(used));
        assertEquals(IoasidState.FREE, used.state());
        assertEquals(0, set.size());
        assertEquals(1, rec.count(EventType.FREE) - 1, "still one FREE each");
    }

    @Test
    @DisplayName("D7: a helper group's space outlives its members: revoked IDs go back to its "
            + "helpers when they register again")
    void revokedIdsOwedToReturningHelpers() {
        Helpers host = new Helpers("host", 500);
        SpaceAllocator a = new SpaceAllocator(host, "a");
        long sa = fx.register(a);
        IoasidHandle held = core.alloc(set, 1, 1000, null);
        IoasidHandle idle = core.alloc(set, 1, 1000, null);
        core.get(held);
        fx.unregister(a, sa);
        core.put(held); // reclaimed while the helpers are away
        assertEquals(2, host.outstanding(), "nothing goes to a departed allocator");
        SpaceAllocator again = new SpaceAllocator(host, "again");
        fx.register(again);
        assertEquals(0, host.outstanding(), "both owed IDs returned on re-registration");
        assertEquals(List.of("a:alloc", "a:alloc", "again:free 501", "again:free 500"),
                host.calls);
        assertEquals(IoasidState.FREE, idle.state());
    }

    @Test
    @DisplayName("rule 24, D7: the fallback goes to the next custom allocator, around revoked IDs")
    void fallbackToNextCustom() {
        Helpers hostB = new Helpers("hostB", 500);
        SpaceAllocator a = new SpaceAllocator(new Helpers("hostA", 500), "a");
        long sa = fx.register(a, Constants.SERVICE_RANKING, 10);
        long sb = fx.register(new SpaceAllocator(hostB, "b"));
        IoasidHandle held = core.alloc(set, 1, 1000, null);
        core.get(held);
        fx.unregister(a, sa);
        assertEquals(AllocatorDTO.ACTIVE, dto(sb).state);
        // b's lowest free is 500, which the revoked ID still holds: b is not at fault, so 500 is
        // kept from it while it is asked again, and given back afterwards
        IoasidHandle next = core.alloc(set, 1, 1000, null);
        assertEquals(501, next.id());
        assertEquals(List.of("b:alloc", "b:alloc", "b:free 500"), hostB.calls);
        assertEquals(0, core.stats().allocatorFaults);
        assertEquals(1, hostB.outstanding());
        core.put(held);
        assertEquals(500, core.alloc(set, 1, 1000, null).id());
    }

    @Test
    @DisplayName("rule 19, D7: an allocator of another space that hands out a revoked ID's number "
            + "twice in one call is at fault: EBUSY, both given back, state unchanged")
    void revokedNumberTwiceIsAFault() {
        SpaceAllocator a = new SpaceAllocator(new Helpers("hostA", 500), "a");
        long sa = fx.register(a, Constants.SERVICE_RANKING, 10);
        List<Integer> freed = new java.util.ArrayList<>();
        fx.register(IoasidFixture.allocator("stuck", (min, max) -> 500, freed::add));
        IoasidHandle held = core.alloc(set, 1, 1000, null);
        core.get(held);
        fx.unregister(a, sa);
        fx.unchanged(EBUSY, () -> core.alloc(set, 1, 1000, null));
        assertEquals(List.of(500, 500), freed, "each time it handed out 500, 500 went back");
        assertEquals(1, core.stats().allocatorFaults);
        assertEquals(IoasidState.FREE_PENDING, held.state());
    }

    @Test
    @DisplayName("rule 19, D7: the returning helpers of a revoked ID's own space handing out its "
            + "number again are at fault (EBUSY), not asked again")
    void revokedNumberFromItsOwnSpaceIsAFault() {
        Helpers host = new Helpers("host", 500);
        SpaceAllocator a = new SpaceAllocator(host, "a");
        long sa = fx.register(a);
        IoasidHandle held = core.alloc(set, 1, 1000, null);
        core.get(held);
        fx.unregister(a, sa);
        List<Integer> freed = new java.util.ArrayList<>();
        fx.register(IoasidFixture.allocator(host, (min, max) -> 500, freed::add));
        fx.unchanged(EBUSY, () -> core.alloc(set, 1, 1000, null));
        assertEquals(List.of(500), freed, "asked once, given back once");
        assertEquals(1, core.stats().allocatorFaults);
    }

    @Test
    @DisplayName("rule 26: switching back to the default needs the custom space emptied first")
    void backToDefaultOnlyWhenEmpty() {
        SpaceAllocator a = new SpaceAllocator(new Helpers("hostA", 500), "a");
        long sa = fx.register(a);
        core.alloc(set, 1, 1000, null);
        // the default allocator is preferred only when no custom one is left; with a present
        // and holding IDs, nothing switches
        long sb = fx.register(new SpaceAllocator(new Helpers("hostB", 900), "b"));
        assertEquals(AllocatorDTO.STANDBY, dto(sb).state);
        assertEquals(AllocatorDTO.ACTIVE, dto(sa).state);
    }

    @Test
    @DisplayName("rule 32: hot-removing vIOMMU1 does not disturb vIOMMU2's PASID from the shared space")
    void jacobsScenario() {
        Helpers host = new Helpers("host", 500);
        SpaceAllocator a1 = new SpaceAllocator(host, "viommu1");
        long s1 = fx.register(a1);
        fx.register(new SpaceAllocator(host, "viommu2"));
        IoasidHandle pasid1 = core.alloc(set, 1, 1000, "dev-on-viommu1");
        IoasidHandle pasid2 = core.alloc(set, 1, 1000, "dev-on-viommu2");
        core.free(pasid1);
        fx.unregister(a1, s1);
        assertEquals(IoasidState.IDLE, pasid2.state());
        assertSame(pasid2, core.find(set, pasid2.id()));
        core.free(pasid2);
        assertEquals(0, host.outstanding(), "both PASIDs went back to the host");
    }

    @Test
    @DisplayName("allocator fault: an exception is EIO, reported, and changes nothing")
    void allocatorThrows() {
        fx.register(IoasidFixture.allocator("broken", (min, max) -> {
            throw new IllegalStateException("host channel down");
        }, id -> { }));
        IoasidException e = fx.unchanged(EIO, () -> core.alloc(set, 1, 1000, null));
        assertTrue(e.getCause() instanceof IllegalStateException);
        assertEquals(1, core.stats().allocatorFaults);
        assertEquals(0, set.size());
    }

    @Test
    @DisplayName("allocator refusal (D37): a typed IoasidException keeps its errno, is counted, "
            + "and changes nothing")
    void allocatorRefusesTyped() {
        fx.register(IoasidFixture.allocator("vcmd", (min, max) -> {
            throw new IoasidException(Errno.ENODEV, "IOMMU dmar0: unexpected VCMD status 3");
        }, id -> { }));
        IoasidException e = fx.unchanged(Errno.ENODEV, () -> core.alloc(set, 1, 1000, null));
        assertTrue(e.getMessage().startsWith("ENODEV: allocator "), e.getMessage());
        assertTrue(e.getMessage().endsWith(" refused: IOMMU dmar0: unexpected VCMD status 3"),
                e.getMessage());
        assertEquals(1, core.stats().allocatorFaults);
        assertEquals(0, set.size());
    }

    @Test
    @DisplayName("allocator fault: an ID outside the requested range is EIO and given back")
    void allocatorOutOfRange() {
        List<Integer> freed = new java.util.ArrayList<>();
        fx.register(IoasidFixture.allocator("sloppy", (min, max) -> max + 1, freed::add));
        fx.unchanged(EIO, () -> core.alloc(set, 1, 1000, null));
        assertEquals(List.of(1001), freed);
    }

    @Test
    @DisplayName("allocator fault: helpers() null or throwing rejects the allocator (EINVAL)")
    void badHelpers() {
        SpaceAllocator none = new SpaceAllocator(null, "nohelpers");
        long sid = fx.register(none);
        assertEquals(AllocatorDTO.REJECTED, dto(sid).state);
        assertEquals("EINVAL", dto(sid).errno);
        assertTrue(activeSpace().isDefault);
        IoasidAllocator throwing = new IoasidAllocator() {
            @Override
            public int alloc(int min, int max) {
                return 1;
            }

            @Override
            public void free(int id) {
            }

            @Override
            public Object helpers() {
                throw new UnsupportedOperationException("no helpers");
            }
        };
        long sid2 = fx.register(throwing);
        assertEquals("EINVAL", dto(sid2).errno);
        assertTrue(dto(sid2).reason.contains("no helpers"), dto(sid2).reason);
        fx.unregister(none, sid);
        fx.unregister(throwing, sid2);
        assertEquals(0, core.allocators().length);
        assertTrue(activeSpace().isDefault);
    }

    @Test
    @DisplayName("allocator fault: a blocked allocator holds up only its callers; leaving mid-call is EAGAIN")
    void departsDuringAllocation() throws Exception {
        IoasidFixture.BlockingAllocator slow = new IoasidFixture.BlockingAllocator(700);
        long sid = fx.register(slow);
        CompletableFuture<IoasidHandle> call = CompletableFuture.supplyAsync(
                () -> core.alloc(set, 1, 1000, null));
        slow.awaitEntered();
        // the core stays usable while the allocator is stuck
        IoasidSet other = core.createSet(TokenType.NONE, "other", 5);
        assertEquals(1, core.idSpaces()[1].inFlight);
        long waiting = fx.register(new SpaceAllocator(new Helpers("next", 800), "next"),
                Constants.SERVICE_RANKING, 5);
        assertEquals(AllocatorDTO.WAITING, dto(waiting).state, "in-flight IDs count");
        fx.unregister(slow, sid); // does not wait for the stuck call
        assertEquals(AllocatorDTO.ACTIVE, dto(waiting).state);
        slow.release.countDown();
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(
                ExecutionException.class, call::get);
        assertEquals(EAGAIN, ((IoasidException) e.getCause()).errno());
        assertEquals(0, set.size());
        assertEquals(800, core.alloc(other, 1, 1000, null).id());
    }

    @Test
    @DisplayName("a service ranking that is not an Integer counts as 0")
    void nonIntegerRanking() {
        long sa = fx.register(new SpaceAllocator(new Helpers("hostA", 500), "a"));
        long sb = fx.register(new SpaceAllocator(new Helpers("hostB", 900), "b"),
                Constants.SERVICE_RANKING, "99");
        assertEquals(AllocatorDTO.ACTIVE, dto(sa).state);
        assertEquals(0, dto(sb).ranking);
    }

    @Test
    @DisplayName("bind is idempotent: a second bind of the same service only updates its ranking")
    void idempotentBind() {
        SpaceAllocator a = new SpaceAllocator(new Helpers("hostA", 500), "a");
        var p = IoasidFixture.props(Constants.SERVICE_RANKING, 1);
        core.bindAllocator(a, p);
        p.put(Constants.SERVICE_RANKING, 7);
        core.bindAllocator(a, p);
        assertEquals(1, core.allocators().length);
        assertEquals(7, core.allocators()[0].ranking);
        core.unbindAllocator(a, p);
        core.unbindAllocator(a, p);
        assertEquals(0, core.allocators().length);
        assertNull(Arrays.stream(core.idSpaces()).filter(s -> !s.isDefault).findAny().orElse(null));
    }

    @Test
    @DisplayName("a revoked FREE_PENDING ID rejects new references (EBUSY) but can be put")
    void revokedRejectsGet() {
        SpaceAllocator a = new SpaceAllocator(new Helpers("hostA", 500), "a");
        long sa = fx.register(a);
        IoasidHandle h = core.alloc(set, 1, 1000, null);
        core.get(h);
        fx.unregister(a, sa);
        fx.unchanged(EBUSY, () -> core.get(h));
        fx.unchanged(EBUSY, () -> core.attachSpid(h, 4));
        core.free(h); // level-sensitive: nothing
        assertEquals(1, h.refCount());
        assertTrue(core.put(h));
        assertEquals(Errno.EINVAL, Expect.errno(EINVAL, () -> core.get(h)).errno());
    }

    @Test
    @DisplayName("D6: a duplicate refused with EEXIST does not join even when unregistered first")
    void rejectedDuplicateLeavesQuietly() {
        SpaceAllocator a = new SpaceAllocator(new Helpers("hostA", 500), "a");
        fx.register(a);
        long dup = fx.register(a);
        String before = Arrays.toString(core.idSpaces());
        fx.unregister(a, dup);
        assertEquals(before, Arrays.toString(core.idSpaces()));
        assertEquals(1, core.allocators().length);
        assertEquals(Ioasid.INVALID, -1);
        fx.unchanged(EEXIST, () -> core.createSet(TokenType.NONE, "guest", 1));
    }
}
