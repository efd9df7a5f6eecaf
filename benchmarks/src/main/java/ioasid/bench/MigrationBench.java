package ioasid.bench;

import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.dto.SetExportDTO;
import ioasid.core.impl.IoasidCore;

/**
 * Benchmark 8: the live migration of a guest's set of 10,000 IDs (decision D36), export from one
 * IOASID space and import into another, as one shot. {@code empty}: the destination holds
 * nothing, so every ID is taken again. {@code halfFull}: half of the destination's 20-bit space
 * is taken, at random, so about half the IDs are taken again and the others get the lowest free
 * ones among the holes. The source's IDs are 1 to 10,000, two of three with a SPID of their
 * own; the imported set is freed after each shot, so every shot meets the same destination.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 20)
@Measurement(iterations = 30)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class MigrationBench {
    static final int SET = 10_000;
    /** A listener stall limit far beyond any shot. */
    private static final long STALL_MS = 60_000;

    @Param({"empty", "halfFull"})
    public String destination;

    private IoasidCore src;
    private IoasidCore dst;
    private IoasidSet set;
    private IoasidSet moved;

    @Setup(Level.Trial)
    public void setUp() {
        src = new IoasidCore(20, STALL_MS);
        dst = new IoasidCore(20, STALL_MS);
        set = src.createSet(TokenType.NONE, "vm1", SET);
        for (int i = 0; i < SET; i++) {
            IoasidHandle h = src.alloc(set, 1, IdSpace.MAX, null);
            if (i % 3 != 0) {
                src.attachSpid(h, 500_000 + i);
            }
        }
        switch (destination) {
            case "empty" -> { }
            case "halfFull" -> {
                IoasidSet other = dst.createSet(TokenType.NONE, "other", (IdSpace.MAX + 1) / 2);
                Random rnd = new Random(42);
                for (int id = 1; id <= IdSpace.MAX && other.size() < other.quota(); id++) {
                    if (rnd.nextBoolean()) {
                        dst.alloc(other, id, id, null);
                    }
                }
            }
            default -> throw new IllegalArgumentException("unknown destination " + destination);
        }
    }

    @Benchmark
    public IoasidSet exportImport() {
        SetExportDTO state = src.exportSet(set);
        moved = dst.importSet(state);
        return moved;
    }

    /** The shot must have moved the whole set with its SPIDs, or its time means nothing. */
    @TearDown(Level.Iteration)
    public void check() {
        if (moved == null || moved.size() != SET
                || dst.findBySpid(moved, 500_000 + SET - 2, false) == null
                || dst.findBySpid(moved, 1, false) == null) {
            throw new IllegalStateException("the set did not move whole: " + moved);
        }
        dst.freeAllInSet(moved);
        dst.freeSet(moved);
        moved = null;
    }

    @TearDown(Level.Trial)
    public void close() {
        src.close();
        dst.close();
    }
}
