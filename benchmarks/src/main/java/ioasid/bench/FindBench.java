package ioasid.bench;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Benchmark 2: look up a random live ID (with the owner check) among {@code live} allocated
 * IDs. The IDs come from a precomputed random sample of 64 Ki entries, read in order. Among 1M
 * IDs every lookup misses the caches and most miss the TLB, so the heap is pre-touched and backed
 * by transparent huge pages where the kernel allows (madvise): with 4 KiB pages the core's fork
 * means differed 2.5-9x on a loaded machine, with huge pages 1.4-1.8x (results/2026-12-03-alloc).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch",
        "-XX:+UseTransparentHugePages"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
public class FindBench {
    static final int SAMPLE = 1 << 16;

    @Param({"core", "bitset", "concurrent", "direct"})
    public IdSpace.Kind impl;

    @Param({"1000", "1000000"})
    public int live;

    private IdSpace space;
    private int[] ids;
    private int cursor;

    @Setup
    public void setUp() {
        space = impl.create();
        ids = Fill.sample(space, Fill.live(space, live), SAMPLE, 7);
    }

    @Benchmark
    public Object find() {
        return space.find(ids[cursor++ & (SAMPLE - 1)]);
    }
}
