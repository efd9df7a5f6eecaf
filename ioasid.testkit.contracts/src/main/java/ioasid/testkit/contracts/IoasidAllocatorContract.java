package ioasid.testkit.contracts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.spi.IoasidAllocator;

/**
 * The contract of an {@link IoasidAllocator}, checked by playing the IOASID core against it: the
 * suite calls {@code alloc} and {@code free} one at a time, as the core does under a helper
 * group's call lock, and judges each answer as the core would (rules 19-21, D1, D2): an ID
 * outside the range asked, or one handed out twice, is an allocator fault the core refuses; a
 * throw fails the allocation with EIO; {@link Ioasid#INVALID} is a full space, ENOSPC.
 *
 * <p>Extend it in the allocator's unit tests and implement {@link #createAllocator}: a new
 * allocator over a new, empty ID space. The optional methods tell the suite more, and each test
 * that needs what they give is skipped without it: {@link #capacity} (so that the suite can fill
 * the space), {@link #createSibling} (a second allocator with the same helpers, rule 17),
 * {@link #breakBacking} and {@link #mendBacking} (a host or hardware that fails). One test
 * registers the allocator with a real IOASID core ({@link #createPlatform}) and allocates
 * through it.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class IoasidAllocatorContract {
    private final List<IoasidAllocator> made = new ArrayList<>();

    /** A new allocator over a new, empty ID space. */
    protected abstract IoasidAllocator createAllocator();

    /** The lowest ID the allocator serves; full-range requests start here. Default 1. */
    protected int firstId() {
        return 1;
    }

    /** The highest ID the allocator serves; full-range requests end here. Default 20 bits. */
    protected int lastId() {
        return Ioasid.MAX_ID;
    }

    /**
     * How many IDs a new allocator hands out before its space is full, when that is few enough
     * to fill in a test (a few thousand at most); 0, the default, when it is not.
     */
    protected int capacity() {
        return 0;
    }

    /**
     * A second allocator with the same helpers as {@code first}, as a second vIOMMU of the same
     * guest registers (rules 17, 25); null, the default, when there is no such thing.
     */
    protected IoasidAllocator createSibling(IoasidAllocator first) {
        return null;
    }

    /**
     * Makes what the allocator relies on fail (its host leaves, its hardware answers an error)
     * until {@link #mendBacking}; false, the default, when the test cannot do that.
     */
    protected boolean breakBacking(IoasidAllocator allocator) {
        return false;
    }

    /** Undoes {@link #breakBacking}. */
    protected void mendBacking(IoasidAllocator allocator) {
    }

    /** Releases what {@link #createAllocator} or {@link #createSibling} set up; after each test. */
    protected void release(IoasidAllocator allocator) {
    }

    /** The IOASID core the allocator is registered with in {@link #throughTheCore}. */
    protected ContractPlatform createPlatform() {
        return ContractPlatform.core(20, 10_000);
    }

    /** Releases every allocator the test created. */
    @AfterEach
    protected final void releaseAll() {
        List<IoasidAllocator> all = new ArrayList<>(made);
        made.clear();
        for (IoasidAllocator a : all) {
            release(a);
        }
    }

    private IoasidAllocator allocator() {
        IoasidAllocator a = createAllocator();
        assertNotNull(a, "createAllocator returned null");
        made.add(a);
        return a;
    }

    private IoasidAllocator sibling(IoasidAllocator first) {
        IoasidAllocator b = createSibling(first);
        assumeTrue(b != null, "no second allocator with the same helpers");
        made.add(b);
        return b;
    }

    private int capacityOrSkip() {
        int c = capacity();
        assumeTrue(c > 0, "the space is too large to fill");
        return c;
    }

    private String range(int min, int max) {
        return "[" + min + ", " + max + "]";
    }

    /** An allocation the core would take: inside the range, never INVALID. */
    private int take(IoasidAllocator a, int min, int max, Set<Integer> live) {
        int id = a.alloc(min, max);
        assertNotEquals(Ioasid.INVALID, id, "no ID in " + range(min, max) + " with " + live.size()
                + " live");
        assertTrue(id >= min && id <= max, "ID " + id + " outside " + range(min, max)
                + " (the core refuses it as an allocator fault, rule 19)");
        assertTrue(live.add(id), "ID " + id + " handed out twice (rule 19), live: " + live);
        return id;
    }

    /** Fills the space from the full range: exactly {@code capacity()} IDs, then INVALID. */
    private Set<Integer> fill(IoasidAllocator a, Set<Integer> live, int expected) {
        Set<Integer> got = new HashSet<>();
        for (int i = 0; i < expected; i++) {
            got.add(take(a, firstId(), lastId(), live));
        }
        int more = a.alloc(firstId(), lastId());
        assertEquals(Ioasid.INVALID, more, "an ID beyond the capacity of " + capacity() + " with "
                + live.size() + " live" + (live.contains(more) ? ", and a live one" : ""));
        return got;
    }

    @Test
    @DisplayName("rules 2, 19, D1: an allocation from the full range answers an ID inside it")
    public void fullRange() {
        IoasidAllocator a = allocator();
        take(a, firstId(), lastId(), new HashSet<>());
    }

    @Test
    @DisplayName("rule 19: no ID is handed out twice while it is live")
    public void noDuplicates() {
        IoasidAllocator a = allocator();
        int n = capacity() > 0 ? capacity() : 64;
        Set<Integer> live = new HashSet<>();
        for (int i = 0; i < n; i++) {
            take(a, firstId(), lastId(), live);
        }
    }

    @Test
    @DisplayName("D1, rule 19: a narrower range answers an ID inside it or INVALID, and loses "
            + "no number it could not use")
    public void narrowerRanges() {
        IoasidAllocator a = allocator();
        int f = firstId();
        int l = lastId();
        assumeTrue(l - f >= 8, "the space is too small to narrow");
        Map<String, Integer> answers = new LinkedHashMap<>();
        for (int[] r : new int[][] {{f + 3, f + 6}, {l, l}, {f + 1, f + 1}, {f + 4, l - 2}}) {
            int id = a.alloc(r[0], r[1]);
            answers.put(range(r[0], r[1]), id);
            assertTrue(id == Ioasid.INVALID || id >= r[0] && id <= r[1], "ID " + id + " for "
                    + range(r[0], r[1]) + " (the core refuses it as an allocator fault, rule 19)");
        }
        Set<Integer> distinct = new HashSet<>();
        for (int id : answers.values()) {
            if (id != Ioasid.INVALID) {
                assertTrue(distinct.add(id), "ID " + id + " handed out twice: " + answers);
                a.free(id);
            }
        }
        Set<Integer> live = new HashSet<>();
        if (capacity() > 0) {
            fill(a, live, capacity());
        } else {
            for (int i = 0; i < 16; i++) {
                take(a, f, l, live);
            }
        }
    }

    @Test
    @DisplayName("rule 20, D2: a full space answers INVALID, not an exception (the core reports "
            + "ENOSPC)")
    public void fullSpaceIsInvalid() {
        int c = capacityOrSkip();
        IoasidAllocator a = allocator();
        Set<Integer> live = new HashSet<>();
        fill(a, live, c);
        assertEquals(Ioasid.INVALID, a.alloc(firstId(), lastId()), "asked again when full");
    }

    @Test
    @DisplayName("rule 21: a freed ID is handed out again")
    public void freedIdComesBack() {
        int c = capacityOrSkip();
        IoasidAllocator a = allocator();
        Set<Integer> live = new HashSet<>();
        List<Integer> ids = new ArrayList<>(fill(a, live, c));
        int back = ids.get(ids.size() / 2);
        a.free(back);
        live.remove(back);
        assertEquals(back, a.alloc(firstId(), lastId()), "the only free ID of a full space");
        assertEquals(Ioasid.INVALID, a.alloc(firstId(), lastId()), "full again");
    }

    @Test
    @DisplayName("rule 17: helpers() is one identity on every call; its equals, hashCode and "
            + "toString answer at once (the core calls them under its lock)")
    public void helpersAreStableAndQuick() {
        IoasidAllocator a = allocator();
        Object h1 = a.helpers();
        assertNotNull(h1, "helpers() is null: the core rejects the allocator with EINVAL");
        a.free(take(a, firstId(), lastId(), new HashSet<>()));
        Object h2 = a.helpers();
        assertEquals(h1, h2, "helpers() changed while registered");
        assertTimeoutPreemptively(Duration.ofSeconds(1), () -> {
            assertEquals(h1.hashCode(), h2.hashCode(), "equal helpers with unequal hash codes");
            assertNotNull(h1.toString(), "helpers' toString");
            assertNotEquals(h1, new Object(), "helpers equal to a stranger");
        }, "helpers' equals, hashCode or toString blocked");
    }

    @Test
    @DisplayName("rules 17, 25: allocators with equal helpers share one ID space: neither hands "
            + "out the other's IDs, and either frees them")
    public void siblingsShareOneSpace() {
        IoasidAllocator a = allocator();
        IoasidAllocator b = sibling(a);
        assertEquals(a.helpers(), b.helpers(), "the sibling's helpers");
        Set<Integer> live = new HashSet<>();
        int x = take(a, firstId(), lastId(), live);
        int y = take(b, firstId(), lastId(), live);
        b.free(x);
        a.free(y);
        live.clear();
        if (capacity() > 0) {
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < capacity(); i++) {
                ids.add(take(i % 2 == 0 ? a : b, firstId(), lastId(), live));
            }
            assertEquals(Ioasid.INVALID, a.alloc(firstId(), lastId()), "the shared space is full");
            assertEquals(Ioasid.INVALID, b.alloc(firstId(), lastId()), "the shared space is full");
            b.free(ids.get(0));
            assertEquals(ids.get(0).intValue(), a.alloc(firstId(), lastId()),
                    "an ID the sibling freed");
        }
    }

    @Test
    @DisplayName("rule 19, D2: while its backing fails, an allocation answers INVALID or throws "
            + "(the core reports ENOSPC or EIO), and no ID is lost or handed out twice")
    public void failureLeavesTheSpaceIntact() {
        IoasidAllocator a = allocator();
        Set<Integer> live = new HashSet<>();
        take(a, firstId(), lastId(), live);
        take(a, firstId(), lastId(), live);
        assumeTrue(breakBacking(a), "the test cannot make the allocator's backing fail");
        int id;
        try {
            id = a.alloc(firstId(), lastId());
        } catch (RuntimeException e) {
            id = Ioasid.INVALID;
        }
        mendBacking(a);
        assertEquals(Ioasid.INVALID, id, "an ID while the backing failed");
        if (capacity() > 0) {
            fill(a, live, capacity() - 2);
        } else {
            for (int i = 0; i < 16; i++) {
                take(a, firstId(), lastId(), live);
            }
        }
    }

    @Test
    @DisplayName("D4, rules 19-21: registered with an IOASID core, allocations go through it "
            + "without an allocator fault; a full space is ENOSPC; frees reach the allocator")
    public void throughTheCore() {
        IoasidAllocator a = allocator();
        try (ContractPlatform p = createPlatform()) {
            IoasidService s = p.service();
            p.registerAllocator(a, Map.of(IoasidAllocator.NAME, "allocator under contract"));
            int n = capacity() > 0 ? capacity() : 16;
            IoasidSet set = s.createSet(TokenType.NONE, "allocator-contract", n + 8);
            int max = Math.min(lastId(), Ioasid.MAX_ID);
            List<IoasidHandle> hs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                IoasidHandle h = s.alloc(set, firstId(), max, null);
                assertTrue(h.id() >= firstId() && h.id() <= max, "ID " + h.id());
                hs.add(h);
            }
            if (capacity() > 0) {
                Checks.refusedWith(Set.of(Errno.ENOSPC), "allocation from a full space",
                        () -> s.alloc(set, firstId(), max, null));
            }
            for (IoasidHandle h : hs) {
                s.free(h);
            }
            IoasidHandle again = s.alloc(set, firstId(), max, null);
            s.free(again);
            assertEquals(0, s.stats().allocatorFaults, "allocator faults the core counted");
            p.unregisterAllocator(a);
        }
    }
}
