package ioasid.bench.scale;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The runtime jar started as a process with many instance files in deploy/, timed from the
 * process start to the line of {@code iommu:await COUNT} saying every instance is registered
 * (the process then stops, which is not counted). The files
 * are those {@link Fleet} builds, as an operator writes them. Each trial starts twice: first in
 * a fresh copy of a directory the runtime prepared (Config Admin has not yet seen the files),
 * then again in the same directory.
 */
public final class StartScenario {
    private StartScenario() {
    }

    /**
     * Starts each runtime {@code starts} times, interleaved (trial t starts them in turn, the
     * order reversed every other trial, so a change in the machine's load falls on all of
     * them); prints and adds to {@code csv} each one's times to ready (first starts and restarts
     * alternately) and CPU times until ready, in milliseconds. With one runtime the CSV kinds
     * are {@code start-ms} and {@code start-cpu-ms}; with several, {@code @} and the jar's file
     * name follow them.
     */
    public static void run(List<Path> runtimes, int instances, int devices, int starts,
            StringBuilder csv)
            throws IOException, InterruptedException {
        int n = runtimes.size();
        List<Path> templates = new ArrayList<>();
        for (Path runtime : runtimes) {
            // each runtime's own deploy/: the backend jars it ships are its own
            Path template = Files.createTempDirectory("scale-start-");
            String out = start(template, runtime, "iommu:await 3").output;
            Path deploy = template.resolve("deploy");
            for (int i = 0; i < instances; i++) {
                write(deploy, i, devices);
            }
            System.out.println("  " + runtime.getFileName() + ": " + out.lines()
                    .reduce((a, b) -> b).orElse("") + "; " + instances + " instance files "
                    + "written to " + deploy);
            templates.add(template);
        }
        String await = "iommu:await " + (instances + 3) + " 120000";
        List<List<Double>> all = new ArrayList<>();
        List<List<Double>> cpu = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            all.add(new ArrayList<>());
            cpu.add(new ArrayList<>());
        }
        for (int t = 0; t < starts; t++) {
            for (int k = 0; k < n; k++) {
                int r = t % 2 == 0 ? k : n - 1 - k;
                Path dir = Files.createTempDirectory("scale-start-" + t + "-");
                copy(templates.get(r), dir);
                Run first = start(dir, runtimes.get(r), await);
                Run again = start(dir, runtimes.get(r), await);
                all.get(r).add(first.readyMs);
                all.get(r).add(again.readyMs);
                cpu.get(r).add(first.cpuMs);
                cpu.get(r).add(again.cpuMs);
                System.out.printf(Locale.ROOT, "  start %d, %s: ready after %.0f ms first, %.0f "
                        + "ms again (CPU %.0f and %.0f ms; exited after %.0f and %.0f ms; %s)%n",
                        t + 1, runtimes.get(r).getFileName(), first.readyMs, again.readyMs,
                        first.cpuMs, again.cpuMs, first.exitMs, again.exitMs,
                        first.output.lines().reduce((x, y) -> y).orElse(""));
                delete(dir);
            }
        }
        for (Path template : templates) {
            delete(template);
        }
        for (int r = 0; r < n; r++) {
            String tag = n == 1 ? "" : "@" + runtimes.get(r).getFileName();
            String name = n == 1 ? "" : " (" + runtimes.get(r).getFileName() + ")";
            List<Double> firsts = new ArrayList<>();
            List<Double> restarts = new ArrayList<>();
            for (int i = 0; i < all.get(r).size(); i++) {
                (i % 2 == 0 ? firsts : restarts).add(all.get(r).get(i));
            }
            ScaleScenario.print("runtime start, files new to Config Admin (ms)" + name, firsts,
                    new StringBuilder(), "");
            ScaleScenario.print("runtime start again (ms)" + name, restarts,
                    new StringBuilder(), "");
            ScaleScenario.print("runtime start with " + instances + " instance files, first and "
                    + "again (ms)" + name, all.get(r), csv, "start-ms" + tag);
            ScaleScenario.print("runtime CPU time until ready, all starts (ms)" + name,
                    cpu.get(r), csv, "start-cpu-ms" + tag);
        }
    }

    /** One instance file, as {@link Fleet#create} configures instance {@code i}. */
    static void write(Path deploy, int i, int devices) throws IOException {
        StringBuilder s = new StringBuilder();
        String pid;
        switch (i % 3) {
            case 0 -> {
                pid = "ioasid.backend.smmuv3-scale-smmu" + i;
                s.append("ioasid.iommu.name=\"scale-smmu").append(i).append("\"\n");
                s.append("ssid.bits=I\"20\"\ndevices=[ \\\n");
                for (int d = 0; d < devices; d++) {
                    s.append(String.format(Locale.ROOT, "  \"s%d.%d;sid=0x%x;pasid=20\", \\%n",
                            i, d, (d + 1) * 8));
                }
            }
            case 1 -> {
                pid = "ioasid.backend.vtd-scale-dmar" + i;
                s.append("ioasid.iommu.name=\"scale-dmar").append(i).append("\"\n");
                s.append("devices=[ \\\n");
                for (int d = 0; d < devices; d++) {
                    // segment 0 is the shipped unit's; PCI segments above it keep units apart
                    s.append(String.format(Locale.ROOT, "  \"%04x:01:%02x.0;pasid=20\", \\%n",
                            (i + 1) & 0xffff, d));
                }
            }
            default -> {
                pid = "ioasid.backend.virtio-scale-viommu" + i;
                s.append("ioasid.iommu.name=\"scale-viommu").append(i).append("\"\n");
                s.append("devices=[ \\\n");
                for (int d = 0; d < devices; d++) {
                    s.append(String.format(Locale.ROOT, "  \"v%d.ep%d;sid=0x%x\", \\%n", i, d,
                            d + 1));
                }
            }
        }
        s.append("  ]\n");
        Files.writeString(deploy.resolve(pid + ".config"), s, StandardCharsets.UTF_8);
    }

    /**
     * One run: when the command said the instances were ready, the CPU time the runtime had
     * used by then (all its threads; on a loaded machine a steadier figure than the wall
     * clock), when it exited, and what it said.
     */
    private record Run(double readyMs, double cpuMs, double exitMs, String output) {
    }

    private static Run start(Path dir, Path runtime, String command)
            throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(java, "-jar", runtime.toString(), "-c", command)
                .directory(dir.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        StringBuilder out = new StringBuilder();
        double ready = -1;
        double cpu = -1;
        try (BufferedReader r = new BufferedReader(
                new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null;) {
                if (ready < 0 && line.contains("backends ready")) {
                    ready = ScaleScenario.ms(System.nanoTime() - t0);
                    cpu = p.info().totalCpuDuration().map(d -> d.toNanos() / 1e6).orElse(-1.0);
                }
                out.append(line).append('\n');
            }
        }
        if (!p.waitFor(180, TimeUnit.SECONDS) || p.exitValue() != 0 || ready < 0) {
            throw new IllegalStateException("the runtime failed in " + dir + ":\n" + out);
        }
        return new Run(ready, cpu, ScaleScenario.ms(System.nanoTime() - t0), out.toString());
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path q = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(q);
                } else {
                    Files.copy(p, q);
                }
            }
        }
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }
}
