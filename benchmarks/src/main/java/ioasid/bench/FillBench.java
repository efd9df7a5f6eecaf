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
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Benchmark 3, time: build an empty space and fill all 2^20 - 1 IDs, lowest first. Everything
 * is included: building the structure, each allocation, and the garbage collection the filling
 * causes. Bytes per live ID are measured by {@link Footprint}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 10)
@Measurement(iterations = 20)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class FillBench {
    @Param({"core", "bitset", "concurrent", "direct"})
    public IdSpace.Kind impl;

    @Benchmark
    public IdSpace fill() {
        IdSpace s = impl.create();
        for (int i = 0; i < IdSpace.MAX; i++) {
            s.alloc(1, IdSpace.MAX);
        }
        return s;
    }
}
