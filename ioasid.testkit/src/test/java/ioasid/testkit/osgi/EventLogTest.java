package ioasid.testkit.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class EventLogTest {
    /** A log fed by the test. */
    static final class Lines extends EventLog {
        Lines(String... lines) {
            for (String l : lines) {
                add(l);
            }
        }

        void push(String line) {
            add(line);
        }

        @Override
        public void close() {
        }
    }

    @Test
    void assertOrderWantsExactlyTheseLines() {
        Lines log = new Lines("ALLOC 1", "BIND 1", "FREE 1");
        log.assertOrder("ALLOC 1", "BIND 1", "FREE 1");
        AssertionError e = assertThrows(AssertionError.class,
                () -> log.assertOrder("ALLOC 1", "FREE 1", "BIND 1"));
        assertTrue(e.getMessage().contains("[ALLOC 1, BIND 1, FREE 1]"), e.getMessage());
        assertThrows(AssertionError.class, () -> log.assertOrder("ALLOC 1", "BIND 1"));
    }

    @Test
    void assertInOrderAllowsOthersBetween() {
        Lines log = new Lines("cpu:ALLOC 1", "iommu:ALLOC 1", "cpu:FREE 1", "iommu:FREE 1");
        log.assertInOrder("cpu:ALLOC 1", "cpu:FREE 1");
        log.assertInOrder("iommu:ALLOC 1", "cpu:FREE 1", "iommu:FREE 1");
        AssertionError e = assertThrows(AssertionError.class,
                () -> log.assertInOrder("cpu:FREE 1", "cpu:ALLOC 1"));
        assertTrue(e.getMessage().contains("'cpu:ALLOC 1' missing"), e.getMessage());
        assertThrows(AssertionError.class, () -> log.assertInOrder("cpu:ALLOC 1", "cpu:ALLOC 1"));
    }

    @Test
    void linesByPrefixContainsAndClear() {
        Lines log = new Lines("a:1", "b:1", "a:2");
        assertEquals(List.of("a:1", "a:2"), log.lines("a:"));
        assertTrue(log.contains("b:1"));
        log.clear();
        assertEquals(List.of(), log.lines());
    }

    @Test
    void awaitLinesWaitsForLinesArrivingOnAnotherThread() throws Exception {
        Lines log = new Lines();
        Thread t = new Thread(() -> {
            for (int i = 0; i < 3; i++) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
                log.push("ioasid/event/ALLOC");
            }
        });
        t.start();
        assertEquals(3, log.awaitLines("ioasid/event/", 3).size());
        t.join();
    }
}
