package ioasid.bench.scale;

import java.io.IOException;
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
 * process start to the end of {@code iommu:await COUNT}: every instance registered. The files
 * are those {@link Fleet} builds, as an operator writes them. Each trial starts twice: first in
 * a fresh copy of a directory the runtime prepared (Config Admin has not yet seen the files),
 * then again in the same directory.
 */
public final class StartScenario {
    private StartScenario() {
    }

    /** Returns the first starts' and the restarts' times, in milliseconds, alternately. */
    public static List<Double> run(Path runtime, int instances, int devices, int starts)
            throws IOException, InterruptedException {
        Path template = Files.createTempDirectory("scale-start-");
        String out = start(template, runtime, "iommu:await 3");
        Path deploy = template.resolve("deploy");
        for (int i = 0; i < instances; i++) {
            write(deploy, i, devices);
        }
        System.out.println("  first run: " + out.lines().reduce((a, b) -> b).orElse("")
                + "; " + instances + " instance files written to " + deploy);
        String await = "iommu:await " + (instances + 3) + " 120000";
        List<Double> firsts = new ArrayList<>();
        List<Double> restarts = new ArrayList<>();
        for (int t = 0; t < starts; t++) {
            Path dir = Files.createTempDirectory("scale-start-" + t + "-");
            copy(template, dir);
            long a = System.nanoTime();
            String o = start(dir, runtime, await);
            firsts.add(ScaleScenario.ms(System.nanoTime() - a));
            long b = System.nanoTime();
            start(dir, runtime, await);
            restarts.add(ScaleScenario.ms(System.nanoTime() - b));
            System.out.printf(Locale.ROOT, "  start %d: %.0f ms first, %.0f ms again (%s)%n",
                    t + 1, firsts.get(t), restarts.get(t),
                    o.lines().reduce((x, y) -> y).orElse(""));
            delete(dir);
        }
        delete(template);
        ScaleScenario.print("runtime start, files new to Config Admin (ms)", firsts,
                new StringBuilder(), "");
        ScaleScenario.print("runtime start again (ms)", restarts, new StringBuilder(), "");
        List<Double> all = new ArrayList<>();
        for (int t = 0; t < starts; t++) {
            all.add(firsts.get(t));
            all.add(restarts.get(t));
        }
        return all;
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

    private static String start(Path dir, Path runtime, String command)
            throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-jar", runtime.toString(), "-c", command)
                .directory(dir.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(180, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("the runtime failed in " + dir + ":\n" + out);
        }
        return out;
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
