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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Benchmark 4: benchmarks 1 and 2 with two threads on one space, as total throughput in
 * operations per microsecond (Mops/s): alloc+free cycles with 1k live IDs, and lookups of random
 * IDs among 1M live ones, each thread reading its own sample. {@code allocFree1kOneThread} is
 * the same cycle with one thread, so that the two-thread ratio comes from one run.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch",
        "-XX:+UseTransparentHugePages"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
public class TwoThreadsBench {

    @State(Scope.Benchmark)
    public static class Allocating {
        @Param({"core", "bitset", "concurrent", "direct"})
        public IdSpace.Kind impl;

        IdSpace space;

        @Setup
        public void setUp() {
            space = impl.create();
            Fill.live(space, 1000);
        }
    }

    @State(Scope.Benchmark)
    public static class Finding {
        @Param({"core", "bitset", "concurrent", "direct"})
        public IdSpace.Kind impl;

        IdSpace space;
        Object[] handles;

        @Setup
        public void setUp() {
            space = impl.create();
            handles = Fill.live(space, 1_000_000);
        }
    }

    @State(Scope.Thread)
    public static class Reader {
        private static final java.util.concurrent.atomic.AtomicLong SEEDS =
                new java.util.concurrent.atomic.AtomicLong(11);

        int[] ids;
        int cursor;

        @Setup
        public void setUp(Finding f) {
            ids = Fill.sample(f.space, f.handles, FindBench.SAMPLE, SEEDS.getAndIncrement());
        }
    }

    @Benchmark
    @Threads(2)
    public Object allocFree1k(Allocating s) {
        Object h = s.space.alloc(1, IdSpace.MAX);
        s.space.free(h);
        return h;
    }

    /** The same cycle on the same state with one thread: the reference for the two-thread rate. */
    @Benchmark
    @Threads(1)
    public Object allocFree1kOneThread(Allocating s) {
        Object h = s.space.alloc(1, IdSpace.MAX);
        s.space.free(h);
        return h;
    }

    @Benchmark
    @Threads(2)
    public Object find1M(Finding s, Reader r) {
        return s.space.find(r.ids[r.cursor++ & (FindBench.SAMPLE - 1)]);
    }
}
