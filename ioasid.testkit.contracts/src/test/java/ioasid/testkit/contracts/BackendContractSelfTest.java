package ioasid.testkit.contracts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.testkit.contracts.MockIommu.Mutation;

/**
 * The backend suite run through the JUnit Platform launcher against the mock IOMMU as it should
 * be and against mutants of it, each with one contract broken: the mock passes, and each mutant
 * fails exactly the tests of the contract it breaks.
 */
class BackendContractSelfTest {
    /** The tests the mock's capabilities rule out: it has every domain type, default domains. */
    private static final Set<String> SKIPPED = Set.of("typesTheCapsDoNotName",
            "detachWithoutDefaultDomains");

    /** The mutations of the mock the next launch runs the suite against. */
    private static volatile Set<Mutation> mutations = EnumSet.noneOf(Mutation.class);

    /** The suite over the mock with {@link #mutations}; run only through the launcher. */
    static final class OverTheMock extends IommuBackendContract {
        private final Set<Mutation> broken = mutations;

        @Override
        protected IommuBackend createBackend(List<DeviceInfo> devices) {
            return new MockIommu(devices, broken);
        }

        @Override
        protected void reconfigure(IommuBackend backend, List<DeviceInfo> devices) {
            ((MockIommu) backend).reconfigure(devices);
        }

        @Override
        protected void leave(IommuBackend backend) {
            ((MockIommu) backend).leave();
        }
    }

    private static SuiteRun run(Set<Mutation> with) {
        mutations = with;
        try {
            return SuiteRun.of(OverTheMock.class);
        } finally {
            mutations = EnumSet.noneOf(Mutation.class);
        }
    }

    @Test
    @DisplayName("the sound mock passes every test but those its capabilities rule out")
    void soundMockPasses() {
        SuiteRun run = run(EnumSet.noneOf(Mutation.class));
        assertEquals(Set.of(), run.failed.keySet(), run.toString());
        assertEquals(SKIPPED, run.skipped, run.toString());
        assertTrue(run.passed.size() >= 30, run.toString());
    }

    static Stream<Arguments> mutants() {
        return Stream.of(
                arguments(Mutation.LAZY_SYNC, "rule 58: iotlbSync returns before its "
                        + "invalidation completes", Set.of("syncLeavesNothingStale",
                                "syncReachesEveryAttachment", "remapTranslatesToTheNewAddress",
                                "everyPageSizeTranslates", "unmapTheHeadOfAMapping",
                                "unmapFromInsideAMapping", "unmapPartOfALargerPage",
                                "unmapStopsAtAHole", "dataPathRunsConcurrently")),
                arguments(Mutation.THIRD_DOMAIN, "rule 44, seed 001: DMA reaches a third domain "
                        + "during a switch", Set.of("duringASwitchOldOrNew",
                                "duringAReplaceOldOrNew")),
                arguments(Mutation.STALE_PASID_CACHE, "rule 96: a removed PASID stays in the "
                        + "PASID-entry cache", Set.of("removedPasidFaultsAtOnce",
                                "teardownOrder", "pasidReplace")),
                arguments(Mutation.IGNORES_DEVICE_WIDTH, "rules 34, 38: the device's PASID "
                        + "width is ignored", Set.of("pasidLimitsOfTheDevice",
                                "deviceWithoutPasids")),
                arguments(Mutation.SERVES_AFTER_LEAVING, "D17: calls still work after the "
                        + "backend left", Set.of("afterLeavingEveryCallIsEnodev")),
                arguments(Mutation.UNMAPS_PAST_HOLES, "rule 58: unmap goes past a hole",
                        Set.of("unmapStopsAtAHole")),
                arguments(Mutation.PARTIAL_MAP_ON_EEXIST, "rule 57: a refused map keeps what "
                        + "it mapped before the clash", Set.of("mapOverAMappedPage")),
                arguments(Mutation.IGNORES_PROT, "rule 57: a read-only mapping takes writes",
                        Set.of("readOnlyMapping")),
                arguments(Mutation.FLUSH_ALL_IGNORED, "rule 58, seed 002: flushIotlbAll does "
                        + "nothing", Set.of("flushAllLeavesNothingStale")),
                arguments(Mutation.MAP_NOT_SYNCED, "rule 57: iotlbSyncMap leaves cached misses",
                        Set.of("syncMapMakesMappingsVisible", "dataPathRunsConcurrently")),
                arguments(Mutation.REATTACH_REFUSED, "rule 44: attaching the current domain "
                        + "again fails", Set.of("attachTheCurrentDomainAgain",
                                "dataPathRunsConcurrently",
                                "replaceWithTheCurrentDomainIsANoOp")),
                arguments(Mutation.PASID_ZERO_ACCEPTED, "rules 33, 38: PASID 0 replaces the "
                        + "domain of DMA without PASID", Set.of("pasidZeroIsRefused")),
                arguments(Mutation.PASID_OVERWRITTEN, "rule 95: a present PASID is overwritten",
                        Set.of("presentPasidIsBusy")),
                arguments(Mutation.PASID_LEAKS_ACROSS_DEVICES, "rule 38: a device's DMA uses "
                        + "another device's PASID entry", Set.of("pasidsAreIsolated")),
                arguments(Mutation.REFUSAL_STICKS, "D2: refusedChange() outlives an accepted "
                        + "change", Set.of("refusedChange")),
                arguments(Mutation.RELEASE_KEEPS_USERS, "D16: a released device keeps its "
                        + "domain busy", Set.of("droppedDeviceIsReleased")),
                arguments(Mutation.THROWS_ON_REFUSAL, "D2: a refused configuration throws",
                        Set.of("refusedConfiguration")),
                arguments(Mutation.PAGE_SIZES_BEYOND_CAPS, "rule 57: domains claim page sizes "
                        + "the caps do not name", Set.of("domainTypesOfTheCaps")),
                arguments(Mutation.FORGETS_PAGE_SIZES, "rule 57: a freed domain forgets its "
                        + "page sizes", Set.of("pageSizesOutliveTheDomain")),
                arguments(Mutation.NESTING_IGNORED, "rule 89: a nesting parent without nesting",
                        Set.of("nestingParents")),
                arguments(Mutation.BLOCKED_BYPASSES, "rule 44: the blocking domain lets DMA "
                        + "through", Set.of("eachSwitchSettlesOnTheNewDomain",
                                "attachAPreviousDomainAgain", "duringASwitchOldOrNew",
                                "replaceSettlesOnTheNewDomain", "duringAReplaceOldOrNew")),
                arguments(Mutation.REPLACE_DROPS_OLD_FIRST, "rules 105, D18: a refused replace "
                        + "leaves the device on no domain", Set.of("failedReplaceLeavesTheOld")),
                arguments(Mutation.PASID_REPLACE_IGNORED, "rule 106: a PASID's replace does "
                        + "nothing", Set.of("pasidReplace")));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("mutants")
    @DisplayName("a mutant of the mock fails exactly the tests of the contract it breaks")
    void mutantFails(Mutation mutation, String breaks, Set<String> tests) {
        SuiteRun run = run(EnumSet.of(mutation));
        assertEquals(tests, run.failed.keySet(), mutation + ":\n" + run);
        assertEquals(SKIPPED, run.skipped, mutation + ":\n" + run);
    }
}
