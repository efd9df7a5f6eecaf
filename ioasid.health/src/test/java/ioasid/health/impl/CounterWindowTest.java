package ioasid.health.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CounterWindowTest {
    static final long S = 1_000_000_000L;

    @Test
    void theFirstReadingIsTheBaseline() {
        assertEquals(0, new CounterWindow().growth(0, 42, 10 * S));
    }

    @Test
    void growthStaysInTheWindowAndLeavesWithIt() {
        CounterWindow w = new CounterWindow();
        w.growth(0, 1, 10 * S);
        assertEquals(2, w.growth(2 * S, 3, 10 * S));
        assertEquals(2, w.growth(9 * S, 3, 10 * S));
        assertEquals(3, w.growth(11 * S, 4, 10 * S), "the baseline is still the first reading");
        assertEquals(1, w.growth(12 * S + 1, 4, 10 * S), "the growth at 2 s has left");
        assertEquals(0, w.growth(22 * S, 4, 10 * S));
    }

    @Test
    void aZeroWindowComparesWithThePreviousReading() {
        CounterWindow w = new CounterWindow();
        w.growth(0, 1, 0);
        assertEquals(4, w.growth(S, 5, 0));
        assertEquals(0, w.growth(2 * S, 5, 0));
    }

    @Test
    void aCounterThatRestartsIsANewBaseline() {
        CounterWindow w = new CounterWindow();
        w.growth(0, 9, 10 * S);
        assertEquals(0, w.growth(S, 2, 10 * S));
        assertEquals(1, w.growth(2 * S, 3, 10 * S));
    }
}
