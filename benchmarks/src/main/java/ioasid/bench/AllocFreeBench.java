package ioasid.bench;

import java.util.SplittableRandom;
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
 * Benchmark 1: allocate an ID and free it again while {@code live} other IDs stay allocated.
 * {@code cycle} frees the ID just allocated, as a driver binding and unbinding a PASID does, so
 * the same slot comes back each time. {@code churn} frees a random live ID instead, so every
 * operation touches memory far apart; it has no target and shows what a cold working set costs.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
public class AllocFreeBench {
    @Param({"core", "bitset", "concurrent", "direct"})
    public IdSpace.Kind impl;

    @Param({"1000", "1000000"})
    public int live;

    private IdSpace space;
    private Object[] handles;
    private final SplittableRandom random = new SplittableRandom(42);

    @Setup
    public void setUp() {
        space = impl.create();
        handles = Fill.live(space, live);
    }

    @Benchmark
    public Object cycle() {
        Object h = space.alloc(1, IdSpace.MAX);
        space.free(h);
        return h;
    }

    @Benchmark
    public Object churn() {
        int i = random.nextInt(handles.length);
        Object old = handles[i];
        handles[i] = space.alloc(1, IdSpace.MAX);
        space.free(old);
        return old;
    }
}
