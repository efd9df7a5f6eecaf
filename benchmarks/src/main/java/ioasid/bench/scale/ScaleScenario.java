package ioasid.bench.scale;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A busy host with many IOMMU instances, measured by hand:
 *
 * <pre>java -Xmx4g -cp benchmarks/target/benchmarks.jar ioasid.bench.scale.ScaleScenario \
 *     [--instances 1000] [--devices 16] [--pasids 100000] [--leaving 10000] [--trials 20] \
 *     [--leaves 5] [--busy 2] [--out FILE.csv] \
 *     [--runtime distribution/target/ioasid.jar[,OTHER.jar...] [--starts 5] [--fleet false]]</pre>
 *
 * <p>In this JVM ({@link Fleet}): the instances are built and bound, PASIDs attached across
 * the SMMUv3 and VT-d ones up to {@code --pasids}, with the heap after GC before and after each
 * step; then, while {@code --busy} threads keep attaching and detaching PASIDs on the others,
 * one more instance is added (built from its configuration and bound until its devices are
 * served) and removed, {@code --trials} times; then, {@code --leaves} times, an instance with
 * {@code --leaving} attached PASIDs leaves, timed until the unbind returned and every UNBIND
 * reached the last listener of the chain. With {@code --runtime}: the runtime jar started in a
 * directory whose deploy/ holds {@code --instances} instance files beside the three it ships,
 * timed until {@code iommu:await} counts every instance ({@link StartScenario}); several jars,
 * separated by commas, are started in turn, so that they are compared under the same load.
 */
public final class ScaleScenario {

    /** The scenario's results: samples in milliseconds and bytes. */
    public record Result(int instances, int pasids, List<Double> addMs, List<Double> removeMs,
            List<Double> leaveMs, long leaveUnbinds, long leaveWanted, long churnOps,
            double bytesPerInstance, double bytesPerPasid, int attachedAfterLeave) {
    }

    private ScaleScenario() {
    }

    public static void main(String[] args) throws Exception {
        int instances = 1000;
        int devices = 16;
        int pasids = 100_000;
        int leaving = 10_000;
        int trials = 20;
        int busy = 2;
        int leaves = 5;
        int starts = 5;
        boolean fleetPart = true;
        List<Path> runtimes = new ArrayList<>();
        Path out = null;
        for (int i = 0; i < args.length; i += 2) {
            String a = args[i];
            if (i + 1 >= args.length) {
                usage("missing value of " + a);
            }
            String v = args[i + 1];
            switch (a) {
                case "--instances" -> instances = Integer.parseInt(v);
                case "--devices" -> devices = Integer.parseInt(v);
                case "--pasids" -> pasids = Integer.parseInt(v);
                case "--leaving" -> leaving = Integer.parseInt(v);
                case "--trials" -> trials = Integer.parseInt(v);
                case "--busy" -> busy = Integer.parseInt(v);
                case "--leaves" -> leaves = Integer.parseInt(v);
                case "--starts" -> starts = Integer.parseInt(v);
                case "--fleet" -> fleetPart = Boolean.parseBoolean(v);
                case "--runtime" -> {
                    for (String jar : v.split(",")) {
                        runtimes.add(Path.of(jar).toAbsolutePath());
                    }
                }
                case "--out" -> out = Path.of(v);
                default -> usage("unknown option " + a);
            }
        }
        // one INFO line per departing instance would be most of the output
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
        System.out.printf(Locale.ROOT, "%d instances x %d devices, %d PASIDs, one leaving with "
                + "%d, %d trials, %d busy threads; %s, %d cores, max heap %d MiB%n", instances,
                devices, pasids, leaving, trials, busy, Runtime.version(),
                Runtime.getRuntime().availableProcessors(),
                Runtime.getRuntime().maxMemory() >> 20);
        StringBuilder csv = new StringBuilder("kind,trial,value\n");
        if (fleetPart) {
            fleet(instances, devices, pasids, leaving, trials, leaves, busy, csv);
        }
        if (!runtimes.isEmpty()) {
            StartScenario.run(runtimes, instances, devices, starts, csv);
        }
        if (out != null) {
            Files.writeString(out, csv);
            System.out.println("samples written to " + out.toAbsolutePath());
        }
    }

    private static void fleet(int instances, int devices, int pasids, int leaving, int trials,
            int leaves, int busy, StringBuilder csv) throws InterruptedException {
        Result r = run(instances, devices, pasids, leaving, trials, leaves, busy, true);
        print("add one instance (ms)", r.addMs, csv, "add-ms");
        print("remove one instance (ms)", r.removeMs, csv, "remove-ms");
        print("instance with " + leaving + " PASIDs leaves (ms)", r.leaveMs, csv, "leave-ms");
        System.out.printf(Locale.ROOT, "UNBIND delivered on leaving: %d of %d; attached after: "
                + "%d; churn operations meanwhile: %d%n", r.leaveUnbinds, r.leaveWanted,
                r.attachedAfterLeave, r.churnOps);
        System.out.printf(Locale.ROOT, "heap: %.0f bytes per instance (%d devices), %.0f bytes "
                + "per attached PASID%n", r.bytesPerInstance, devices, r.bytesPerPasid);
        csv.append(String.format(Locale.ROOT, "bytes-per-instance,0,%.0f%n", r.bytesPerInstance));
        csv.append(String.format(Locale.ROOT, "bytes-per-pasid,0,%.0f%n", r.bytesPerPasid));
    }

    private static void usage(String why) {
        System.err.println(why + "\nusage: ScaleScenario [--instances N] [--devices N] "
                + "[--pasids N] [--leaving N] [--trials N] [--leaves N] [--busy N] [--out FILE.csv] "
                + "[--runtime IOASID.JAR[,IOASID.JAR...] [--starts N] [--fleet false]]");
        System.exit(2);
    }

    /**
     * Runs the in-process part. With {@code verbose}, prints each step's time. Trials that fail
     * throw: the scenario checks its invariants as it goes.
     */
    public static Result run(int instances, int devices, int pasids, int leaving, int trials,
            int leaves, int busy, boolean verbose) throws InterruptedException {
        MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
        try (Fleet fleet = new Fleet(devices, pasids + leaving + 10_000)) {
            long heap0 = heap(mem);
            long t0 = System.nanoTime();
            List<Fleet.Instance> all = new ArrayList<>();
            for (int i = 0; i < instances; i++) {
                Fleet.Instance in = fleet.create(i);
                fleet.bind(in);
                all.add(in);
            }
            check(fleet.iommu().backends().length == instances, "not every instance serves");
            long heap1 = heap(mem);
            step(verbose, "bound " + instances + " instances", t0);

            t0 = System.nanoTime();
            List<Fleet.Instance> pasidCapable = new ArrayList<>();
            for (Fleet.Instance in : all) {
                if (in.takesPasids()) {
                    pasidCapable.add(in);
                }
            }
            int each = pasids / pasidCapable.size();
            int extra = pasids % pasidCapable.size();
            for (int i = 0; i < pasidCapable.size(); i++) {
                fleet.attach(pasidCapable.get(i), each + (i < extra ? 1 : 0));
            }
            check(fleet.binds() == pasids, "BIND count " + fleet.binds() + " != " + pasids);
            long heap2 = heap(mem);
            step(verbose, "attached " + pasids + " PASIDs", t0);

            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong ops = new AtomicLong();
            AtomicReference<Throwable> failed = new AtomicReference<>();
            List<Thread> workers = new ArrayList<>();
            for (int w = 0; w < busy; w++) {
                Random rnd = new Random(w);
                Thread t = new Thread(() -> {
                    try {
                        while (!stop.get()) {
                            Fleet.Instance in = pasidCapable.get(rnd.nextInt(pasidCapable.size()));
                            fleet.churn(in, rnd.nextInt(devices));
                            ops.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failed.compareAndSet(null, e);
                    }
                }, "scale-busy-" + w);
                t.setDaemon(true);
                workers.add(t);
                t.start();
            }
            List<Double> add = new ArrayList<>();
            List<Double> remove = new ArrayList<>();
            List<Double> leave = new ArrayList<>();
            long unbinds = 0;
            long wanted = 0;
            try {
                int next = instances;
                for (int t = 0; t < trials; t++) {
                    long a = System.nanoTime();
                    Fleet.Instance in = fleet.create(next++);
                    fleet.bind(in);
                    add.add(ms(System.nanoTime() - a));
                    check(fleet.iommu().group(in.devices.get(devices - 1)) != null,
                            in.name() + " does not serve");
                    long b = System.nanoTime();
                    fleet.unbind(in);
                    remove.add(ms(System.nanoTime() - b));
                    if (verbose) {
                        System.out.printf(Locale.ROOT, "  trial %d: add %.2f ms, remove %.2f ms%n",
                                t + 1, add.get(t), remove.get(t));
                    }
                }
                t0 = System.nanoTime();
                for (int t = 0; t < leaves; t++) {
                    // a VT-d unit, so every trial's instance takes PASIDs
                    int index = next + (1 - next % 3 + 3) % 3;
                    next = index + 1;
                    Fleet.Instance big = fleet.create(index);
                    fleet.bind(big);
                    fleet.attach(big, leaving);
                    long before = fleet.watchedUnbinds();
                    int w = fleet.watch(big);
                    wanted += w;
                    long c = System.nanoTime();
                    fleet.unbind(big);
                    while (fleet.watchedUnbinds() - before < w) {
                        if (System.nanoTime() - c > 10_000_000_000L) {
                            throw new IllegalStateException((fleet.watchedUnbinds() - before)
                                    + " of " + w + " UNBIND after 10 s");
                        }
                        Thread.onSpinWait();
                    }
                    leave.add(ms(System.nanoTime() - c));
                    unbinds += fleet.watchedUnbinds() - before;
                    if (verbose) {
                        System.out.printf(Locale.ROOT, "  leave %d: %.2f ms, %d UNBIND%n", t + 1,
                                leave.get(t), fleet.watchedUnbinds() - before);
                    }
                    fleet.release(big);
                }
                step(verbose, "trials", t0);
            } finally {
                stop.set(true);
                for (Thread t : workers) {
                    t.join();
                }
            }
            if (failed.get() != null) {
                throw new IllegalStateException("a busy thread failed", failed.get());
            }
            int attached = fleet.attachedInCore();
            check(fleet.iommu().backends().length == instances, "instances lost");
            return new Result(instances, pasids, add, remove, leave, unbinds, wanted, ops.get(),
                    (double) (heap1 - heap0) / instances, (double) (heap2 - heap1) / pasids,
                    attached);
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what);
        }
    }

    private static void step(boolean verbose, String what, long t0) {
        if (verbose) {
            System.out.printf(Locale.ROOT, "  %s in %.0f ms%n", what, ms(System.nanoTime() - t0));
        }
    }

    static double ms(long nanos) {
        return nanos / 1e6;
    }

    /** Heap in use after collecting until it stops shrinking. */
    static long heap(MemoryMXBean mem) throws InterruptedException {
        long last = Long.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            System.gc();
            Thread.sleep(50);
            long used = mem.getHeapMemoryUsage().getUsed();
            if (used >= last - 4096) {
                return Math.min(used, last);
            }
            last = used;
        }
        return last;
    }

    static void print(String what, List<Double> samples, StringBuilder csv, String kind) {
        for (int i = 0; i < samples.size(); i++) {
            csv.append(String.format(Locale.ROOT, "%s,%d,%.3f%n", kind, i + 1, samples.get(i)));
        }
        List<Double> s = new ArrayList<>(samples);
        Collections.sort(s);
        if (s.isEmpty()) {
            System.out.println(what + ": no samples");
            return;
        }
        double median = s.size() % 2 == 1 ? s.get(s.size() / 2)
                : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
        System.out.printf(Locale.ROOT, "%s: median %.2f, min %.2f, max %.2f (%d samples)%n",
                what, median, s.get(0), s.get(s.size() - 1), s.size());
    }
}
