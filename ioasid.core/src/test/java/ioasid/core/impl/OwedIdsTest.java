package ioasid.core.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The IDs owed to departed helpers (D7), held against the helpers weakly. */
class OwedIdsTest {

    /** Helpers equal by name, as two incarnations of one bundle's helpers may be. */
    record Named(String name) {
    }

    @Test
    @DisplayName("IDs owed to helpers go to equal helpers, once")
    void equalHelpersCollect() {
        OwedIds owed = new OwedIds();
        Named first = new Named("host");
        owed.add(first, 5);
        owed.add(first, 9);
        owed.add(new Named("other"), 7);
        assertEquals(3, owed.size());
        assertEquals(List.of(5, 9), owed.remove(new Named("host")));
        assertNull(owed.remove(first));
        assertEquals(1, owed.size());
    }

    @Test
    @DisplayName("helpers collected while away take their IDs with them, and expunge says so")
    void collectedHelpersAreReported() throws InterruptedException {
        OwedIds owed = new OwedIds();
        owed.add(new Named("gone"), 3);
        Named kept = new Named("kept");
        owed.add(kept, 4);
        List<String> reported = new ArrayList<>();
        for (int i = 0; i < 50 && reported.isEmpty(); i++) {
            System.gc();
            Thread.sleep(10);
            reported.addAll(owed.expunge());
        }
        assertEquals(1, reported.size(), "the collected helpers are reported");
        assertTrue(reported.get(0).startsWith("1 IDs owed to departed helpers of class "),
                reported.get(0));
        assertEquals(1, owed.size());
        assertEquals(List.of(4), owed.remove(kept));
    }
}
