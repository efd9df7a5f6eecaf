package ioasid.testkit.contracts;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidService;
import ioasid.api.spi.IoasidListener;
import ioasid.testkit.contracts.CallingBackListener.Mutation;

/**
 * The listener suite run through the JUnit Platform launcher against a listener that calls back
 * as a driver does, and against mutants of it that block, wait for their own events or throw.
 */
class ListenerContractSelfTest {

    abstract static class CallingBackSuite extends IoasidListenerContract {
        private final Mutation mutation;

        CallingBackSuite(Mutation mutation) {
            this.mutation = mutation;
        }

        @Override
        protected IoasidListener createListener(IoasidService service) {
            return new CallingBackListener(service, mutation);
        }

        /** A short budget keeps the mutants' runs short: a stall is declared at 600 ms. */
        @Override
        protected long eventBudgetMillis() {
            return 200;
        }
    }

    static final class Sound extends CallingBackSuite {
        Sound() {
            super(null);
        }
    }

    static final class SoundSetScoped extends CallingBackSuite {
        SoundSetScoped() {
            super(null);
        }

        @Override
        protected Map<String, Object> serviceProperties() {
            return Map.of(IoasidListener.SCOPE, IoasidListener.SCOPE_SET,
                    IoasidListener.SET_TOKEN, "listener-contract-vm");
        }
    }

    static final class Slow extends CallingBackSuite {
        Slow() {
            super(Mutation.SLOW);
        }
    }

    static final class WaitsForItsOwnEvent extends CallingBackSuite {
        WaitsForItsOwnEvent() {
            super(Mutation.WAITS_FOR_ITS_OWN_EVENT);
        }
    }

    static final class Throws extends CallingBackSuite {
        Throws() {
            super(Mutation.THROWS);
        }
    }

    private static final Set<String> ALL = Set.of("promptForEveryEvent",
            "noWaitingAcrossThreads", "lateRegistrationTakesTheReplay");

    private static void assertFails(Class<? extends CallingBackSuite> suite, Set<String> tests,
            Set<String> skipped) {
        SuiteRun run = SuiteRun.of(suite);
        assertEquals(tests, run.failed.keySet(), suite.getSimpleName() + ":\n" + run);
        assertEquals(skipped, run.skipped, suite.getSimpleName() + ":\n" + run);
    }

    @Test
    @DisplayName("a listener that calls back without waiting passes, system- or set-scoped")
    void soundListenerPasses() {
        assertFails(Sound.class, Set.of(), Set.of("joinsItsSetWhenCreated"));
        assertFails(SoundSetScoped.class, Set.of(), Set.of());
    }

    @Test
    @DisplayName("D14: a listener that blocks on FREE fails every test")
    void slow() {
        assertFails(Slow.class, ALL, Set.of("joinsItsSetWhenCreated"));
    }

    @Test
    @DisplayName("D14: a listener that waits for the event of its own call back fails every test")
    void waitsForItsOwnEvent() {
        assertFails(WaitsForItsOwnEvent.class, ALL, Set.of("joinsItsSetWhenCreated"));
    }

    @Test
    @DisplayName("D14: a listener that throws on BIND fails every test")
    void throwsOnBind() {
        assertFails(Throws.class, ALL, Set.of("joinsItsSetWhenCreated"));
    }
}
