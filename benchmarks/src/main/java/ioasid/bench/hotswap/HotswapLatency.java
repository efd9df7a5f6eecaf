package ioasid.bench.hotswap;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * Hot-swap latency through deploy/, measured on the runtime jar as a process, by hand:
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar ioasid.bench.hotswap.HotswapLatency \
 *     --runtime distribution/target/ioasid.jar [--trials 12] [--phase 500] [--idle 30] \
 *     [--seed N] [--out FILE.csv]</pre>
 *
 * <p>It fills a new directory with a first run of the runtime, adds the probe bundle
 * ({@link BackendProbe}) to its deploy/, starts the runtime without a console and, once the VT-d
 * backend serves, measures:
 * <ul>
 * <li>the runtime's CPU time over {@code --idle} seconds of doing nothing, from
 * /proc/PID/stat, as a share of one core;
 * <li>per trial, after a quiet second and a random wait in [0, {@code --phase}] ms (so the
 * change lands anywhere in a watcher's poll cycle): deleting deploy/backend.vtd.jar until the
 * core reports the backend gone, copying it back (a plain copy, not a rename) until it serves,
 * and copying it over itself until it serves again, counting the departures of that replacement.
 * </ul>
 * The times run from just before the file operation to the probe's stamp of the core's event.
 */
public final class HotswapLatency {
    private static final String JAR = "backend.vtd.jar";
    private static final String NAME = "dmar0";
    private static final long WAIT_S = 20;

    private record Sample(String kind, int trial, int delayMs, double ms, int departures) {
    }

    private record ProbeLine(long nanos, String kind, String backend) {
    }

    private HotswapLatency() {
    }

    public static void main(String[] args) throws Exception {
        Path runtime = null;
        int trials = 12;
        int phase = 500;
        int idle = 30;
        long seed = System.nanoTime();
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            if (v == null) {
                usage("missing value of " + a);
            }
            switch (a) {
                case "--runtime" -> runtime = Path.of(v).toAbsolutePath();
                case "--trials" -> trials = Integer.parseInt(v);
                case "--phase" -> phase = Integer.parseInt(v);
                case "--idle" -> idle = Integer.parseInt(v);
                case "--seed" -> seed = Long.parseLong(v);
                case "--out" -> out = Path.of(v);
                default -> usage("unknown option " + a);
            }
            i++;
        }
        if (runtime == null || !Files.isRegularFile(runtime)) {
            usage("--runtime names no file");
        }
        System.out.println("runtime " + runtime + ", " + trials + " trials, phase [0, " + phase
                + "] ms, seed " + seed);
        List<Sample> samples = new HotswapLatency().run(runtime, trials, phase, idle,
                new Random(seed));
        report(samples);
        if (out != null) {
            StringBuilder csv = new StringBuilder("kind,trial,delay_ms,latency_ms,departures\n");
            for (Sample s : samples) {
                csv.append(String.format(Locale.ROOT, "%s,%d,%d,%.1f,%d%n", s.kind, s.trial,
                        s.delayMs, s.ms, s.departures));
            }
            Files.writeString(out, csv);
            System.out.println("samples written to " + out.toAbsolutePath());
        }
    }

    private static void usage(String why) {
        System.err.println(why + "\nusage: HotswapLatency --runtime IOASID.JAR [--trials N] "
                + "[--phase MS] [--idle S] [--seed N] [--out FILE.csv]");
        System.exit(2);
    }

    private final BlockingQueue<ProbeLine> events = new LinkedBlockingQueue<>();
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    private List<Sample> run(Path runtime, int trials, int phase, int idle, Random random)
            throws Exception {
        Path dir = Files.createTempDirectory("hotswap-");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process first = new ProcessBuilder(java, "-jar", runtime.toString(), "-c", "iommu:await 3")
                .directory(dir.toFile()).redirectErrorStream(true).start();
        first.getOutputStream().close();
        String firstOut = new String(first.getInputStream().readAllBytes(),
                StandardCharsets.UTF_8);
        if (!first.waitFor(60, TimeUnit.SECONDS) || first.exitValue() != 0) {
            throw new IllegalStateException("the first run failed:\n" + firstOut);
        }
        Path deploy = dir.resolve("deploy");
        Path jar = deploy.resolve(JAR);
        Path source = dir.resolve(JAR);
        Files.copy(jar, source);
        Path probe = dir.resolve("probe.jar.tmp");
        Files.write(probe, probeBundle());
        Files.move(probe, deploy.resolve("backend-probe.jar"), StandardCopyOption.ATOMIC_MOVE);

        Process p = new ProcessBuilder(java, "-Dgosh.args=--nointeractive", "-jar",
                runtime.toString()).directory(dir.toFile()).start();
        p.getOutputStream().close();
        read(p.getInputStream(), true);
        read(p.getErrorStream(), false);
        List<Sample> samples = new ArrayList<>();
        try {
            await("READY", "-");
            // the backend may have come up before the probe's handler: the first deletion then
            // shows that it serves
            Thread.sleep(5000);
            events.clear();
            double cpu = idleCpu(p.pid(), idle);
            samples.add(new Sample("idle-cpu-percent", 0, 0, cpu, 0));
            System.out.printf(Locale.ROOT, "idle: %.2f%% of one core over %d s%n", cpu, idle);
            for (int t = 1; t <= trials; t++) {
                int d = quietThenWait(random, phase);
                long t0 = System.nanoTime();
                Files.delete(jar);
                Sample gone = new Sample("delete-gone", t, d, ms(await("REMOVED", NAME) - t0), 1);
                samples.add(gone);

                d = quietThenWait(random, phase);
                t0 = System.nanoTime();
                Files.copy(source, jar);
                Sample back = new Sample("copy-serving", t, d, ms(await("ADDED", NAME) - t0), 0);
                samples.add(back);

                d = quietThenWait(random, phase);
                t0 = System.nanoTime();
                Files.copy(source, jar, StandardCopyOption.REPLACE_EXISTING);
                await("REMOVED", NAME);
                long served = await("ADDED", NAME);
                // a second departure of the same replacement would follow within the watcher's
                // cycle: look for one before the next trial
                Thread.sleep(1500);
                int departures = 1 + count("REMOVED", NAME);
                Sample swap = new Sample("replace-serving", t, d, ms(served - t0), departures);
                samples.add(swap);
                System.out.printf(Locale.ROOT, "trial %2d: gone %6.1f ms, serving %6.1f ms, "
                        + "replaced %6.1f ms (%d departure%s)%n", t, gone.ms, back.ms, swap.ms,
                        departures, departures == 1 ? "" : "s");
            }
        } catch (RuntimeException | InterruptedException | IOException e) {
            System.err.println("the runtime said:\n" + String.join("\n", log));
            throw e;
        } finally {
            p.destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        synchronized (log) {
            for (String l : log) {
                if (l.startsWith("WARNING") || l.startsWith("ERROR") || l.startsWith("SEVERE")) {
                    System.out.println("runtime: " + l);
                }
            }
        }
        return samples;
    }

    /** A quiet second (anything late is dropped), then a random wait; returns the wait. */
    private int quietThenWait(Random random, int phase) throws InterruptedException {
        Thread.sleep(1000);
        events.clear();
        int d = random.nextInt(phase + 1);
        Thread.sleep(d);
        return d;
    }

    private long await(String kind, String backend) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (true) {
            ProbeLine l = events.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (l == null) {
                throw new IllegalStateException("no " + kind + " of " + backend + " within "
                        + WAIT_S + " s");
            }
            if (l.kind.equals(kind) && l.backend.equals(backend)) {
                return l.nanos;
            }
        }
    }

    private int count(String kind, String backend) {
        int n = 0;
        for (ProbeLine l; (l = events.poll()) != null;) {
            if (l.kind.equals(kind) && l.backend.equals(backend)) {
                n++;
            }
        }
        return n;
    }

    private void read(InputStream in, boolean probe) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in,
                    StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null;) {
                    if (probe && line.startsWith(BackendProbe.PREFIX)) {
                        String[] f = line.substring(BackendProbe.PREFIX.length()).split(" ");
                        events.add(new ProbeLine(Long.parseLong(f[0]), f[1], f[2]));
                    } else {
                        log.add(line);
                    }
                }
            } catch (IOException e) {
                log.add("reader: " + e);
            }
        });
        t.setDaemon(true);
        t.start();
    }

    /** The process's user and system time over the period, in percent of one core. */
    private static double idleCpu(long pid, int seconds) throws Exception {
        long hz = clockTicks();
        long before = cpuTicks(pid);
        long t0 = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        long ticks = cpuTicks(pid) - before;
        double wall = (System.nanoTime() - t0) / 1e9;
        return 100.0 * ticks / hz / wall;
    }

    /** utime + stime of /proc/PID/stat (fields 14 and 15, counted after the command's name). */
    private static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    private static long clockTicks() throws Exception {
        Process p = new ProcessBuilder("getconf", "CLK_TCK").start();
        String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        p.waitFor();
        return Long.parseLong(v.strip());
    }

    /** The probe bundle: BackendProbe's class and a manifest importing what it uses. */
    static byte[] probeBundle() throws IOException {
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", "ioasid.bench.backend-probe");
        a.putValue("Bundle-Version", "1.0.0");
        a.putValue("Bundle-Activator", BackendProbe.class.getName());
        a.putValue("Import-Package", "org.osgi.framework;version=\"[1.8,2)\","
                + "org.osgi.service.event;version=\"[1.4,2)\"");
        String entry = BackendProbe.class.getName().replace('.', '/') + ".class";
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(bytes, m);
                InputStream cls = HotswapLatency.class.getResourceAsStream("/" + entry)) {
            if (cls == null) {
                throw new IOException(entry + " is not on the class path");
            }
            jar.putNextEntry(new JarEntry(entry));
            cls.transferTo(jar);
            jar.closeEntry();
        }
        return bytes.toByteArray();
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static void report(List<Sample> samples) {
        System.out.println();
        for (String kind : List.of("delete-gone", "copy-serving", "replace-serving")) {
            List<Double> v = new ArrayList<>();
            int departures = 0;
            for (Sample s : samples) {
                if (s.kind.equals(kind)) {
                    v.add(s.ms);
                    departures = Math.max(departures, s.departures);
                }
            }
            Collections.sort(v);
            if (v.isEmpty()) {
                continue;
            }
            int n = v.size();
            double median = n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
            System.out.printf(Locale.ROOT, "%-16s n=%2d  min %6.1f  median %6.1f  max %6.1f ms%s%n",
                    kind, n, v.get(0), median, v.get(n - 1),
                    kind.equals("replace-serving") ? "  (most departures per replacement: "
                            + departures + ")" : "");
        }
    }
}
