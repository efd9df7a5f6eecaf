package ioasid.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

/** The per-fork spread of the report: lowest, median and highest fork mean. */
class ReportTest {

    @Test
    void oddForkCountTakesTheMiddleMean() {
        assertArrayEquals(new double[] {5.0, 6.0, 20.0},
                Report.forkSpread(List.of(20.0, 5.0, 6.0)), 1e-9);
    }

    @Test
    void evenForkCountAveragesTheTwoMiddleMeans() {
        assertArrayEquals(new double[] {1.0, 2.5, 9.0},
                Report.forkSpread(List.of(9.0, 3.0, 1.0, 2.0)), 1e-9);
    }
}
