package ioasid.testkit.contracts;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.EnumSet;
import java.util.Set;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.spi.IoasidAllocator;
import ioasid.testkit.contracts.SimpleAllocator.Mutation;

/**
 * The allocator suite run through the JUnit Platform launcher against a sound lowest-free
 * allocator and mutants of it: the sound one passes, each mutant fails the tests of what it
 * breaks.
 */
class AllocatorContractSelfTest {
    private static final int CAPACITY = 32;

    abstract static class SimpleSuite extends IoasidAllocatorContract {
        private final Set<Mutation> mutations;

        SimpleSuite(Set<Mutation> mutations) {
            this.mutations = mutations;
        }

        @Override
        protected IoasidAllocator createAllocator() {
            return new SimpleAllocator(new SimpleAllocator.Space(1, CAPACITY), mutations);
        }

        @Override
        protected int capacity() {
            return CAPACITY;
        }

        @Override
        protected IoasidAllocator createSibling(IoasidAllocator first) {
            return new SimpleAllocator(((SimpleAllocator) first).space, mutations);
        }

        @Override
        protected boolean breakBacking(IoasidAllocator allocator) {
            ((SimpleAllocator) allocator).space.broken = true;
            return true;
        }

        @Override
        protected void mendBacking(IoasidAllocator allocator) {
            ((SimpleAllocator) allocator).space.broken = false;
        }
    }

    static final class Sound extends SimpleSuite {
        Sound() {
            super(EnumSet.noneOf(Mutation.class));
        }
    }

    static final class IgnoresRange extends SimpleSuite {
        IgnoresRange() {
            super(EnumSet.of(Mutation.IGNORES_RANGE));
        }
    }

    static final class Duplicates extends SimpleSuite {
        Duplicates() {
            super(EnumSet.of(Mutation.DUPLICATES));
        }
    }

    static final class ThrowsWhenFull extends SimpleSuite {
        ThrowsWhenFull() {
            super(EnumSet.of(Mutation.THROWS_WHEN_FULL));
        }
    }

    static final class LosesFrees extends SimpleSuite {
        LosesFrees() {
            super(EnumSet.of(Mutation.LOSES_FREES));
        }
    }

    static final class LeaksOnFailure extends SimpleSuite {
        LeaksOnFailure() {
            super(EnumSet.of(Mutation.LEAKS_ON_FAILURE));
        }
    }

    private static void assertFails(Class<? extends SimpleSuite> suite, String... tests) {
        SuiteRun run = SuiteRun.of(suite);
        assertEquals(Set.of(tests), run.failed.keySet(), suite.getSimpleName() + ":\n" + run);
        assertEquals(Set.of(), run.skipped, suite.getSimpleName() + ":\n" + run);
    }

    @Test
    @DisplayName("a sound lowest-free allocator passes every test")
    void soundAllocatorPasses() {
        assertFails(Sound.class);
    }

    @Test
    @DisplayName("D1, rule 19: an allocator that answers outside the range asked fails the "
            + "range test")
    void ignoresRange() {
        assertFails(IgnoresRange.class, "narrowerRanges");
    }

    @Test
    @DisplayName("rule 19: an allocator that hands an ID out twice fails every test that "
            + "allocates more than once")
    void duplicates() {
        assertFails(Duplicates.class, "noDuplicates", "narrowerRanges", "fullSpaceIsInvalid",
                "freedIdComesBack", "siblingsShareOneSpace", "failureLeavesTheSpaceIntact",
                "throughTheCore");
    }

    @Test
    @DisplayName("rule 20, D2: an allocator that throws when full fails the tests that fill it")
    void throwsWhenFull() {
        assertFails(ThrowsWhenFull.class, "narrowerRanges", "fullSpaceIsInvalid",
                "freedIdComesBack", "siblingsShareOneSpace", "failureLeavesTheSpaceIntact",
                "throughTheCore");
    }

    @Test
    @DisplayName("rule 21: an allocator that loses freed IDs fails the tests that free")
    void losesFrees() {
        assertFails(LosesFrees.class, "narrowerRanges", "freedIdComesBack",
                "siblingsShareOneSpace", "throughTheCore");
    }

    @Test
    @DisplayName("rule 19: an allocator that takes an ID while its backing fails fails the "
            + "failure test")
    void leaksOnFailure() {
        assertFails(LeaksOnFailure.class, "failureLeavesTheSpaceIntact");
    }
}
