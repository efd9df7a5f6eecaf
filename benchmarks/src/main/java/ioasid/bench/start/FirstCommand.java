package ioasid.bench.start;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The runtime jar's cold start to its first command, as a process, several jars interleaved:
 * each trial starts each jar in turn (the order reversed every other trial, so a change in the
 * machine's load falls on all of them) in a fresh copy of a directory that jar prepared, and
 * times from the process start to the answer of {@code iommu:await 3}. With {@code --console
 * pipe} (the default) the command comes on standard input, as to a runtime that keeps running,
 * which then also starts its web stack: the time until its HTTP port answers is the web figure;
 * then {@code stop 0}. With {@code --console c} it is given as {@code -c}, and the runtime exits
 * after it. Prints medians and writes the samples as CSV (kind, trial, ms).
 *
 * <pre>
 * java -cp benchmarks.jar ioasid.bench.start.FirstCommand --runtime a.jar,b.jar --trials 20
 * </pre>
 */
public final class FirstCommand {
    private static final String COMMAND = "iommu:await 3";
    private static final String ANSWER = "3 backends ready";

    private FirstCommand() {
    }

    public static void main(String[] args) throws Exception {
        List<Path> jars = new ArrayList<>();
        int trials = 20;
        boolean pipe = true;
        Path out = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--runtime" -> {
                    for (String j : args[i + 1].split(",")) {
                        jars.add(Path.of(j).toAbsolutePath());
                    }
                }
                case "--trials" -> trials = Integer.parseInt(args[i + 1]);
                case "--console" -> pipe = !args[i + 1].equals("c");
                case "--out" -> out = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (jars.isEmpty() || args.length % 2 != 0) {
            System.err.println("usage: FirstCommand --runtime A.jar[,B.jar...] [--trials N] "
                    + "[--console pipe|c] [--out FILE.csv]");
            System.exit(2);
        }
        List<Path> templates = new ArrayList<>();
        for (Path jar : jars) {
            Path t = Files.createTempDirectory("first-command-");
            run(jar, t, false); // fills deploy/, with a free port for HTTP
            delete(t.resolve(".ioasid").resolve("framework"));
            templates.add(t);
        }
        int n = jars.size();
        List<List<double[]>> samples = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            samples.add(new ArrayList<>());
        }
        for (int t = 0; t < trials; t++) {
            for (int k = 0; k < n; k++) {
                int r = t % 2 == 0 ? k : n - 1 - k;
                Path dir = Files.createTempDirectory("first-command-" + t + "-");
                copy(templates.get(r), dir);
                double[] s = run(jars.get(r), dir, pipe);
                samples.get(r).add(s);
                System.out.printf(Locale.ROOT, "trial %d, %s: answer %.0f ms, CPU %.0f ms, "
                        + "web %.0f ms, exit %.0f ms%n", t + 1, jars.get(r).getFileName(), s[0],
                        s[1], s[2], s[3]);
                delete(dir);
            }
        }
        StringBuilder csv = new StringBuilder("kind,trial,value\n");
        String[] kinds = {"answer-ms", "cpu-ms", "web-ms", "exit-ms"};
        for (int k = 0; k < n; k++) {
            String jar = jars.get(k).getFileName().toString();
            for (int f = 0; f < kinds.length; f++) {
                List<Double> v = new ArrayList<>();
                for (int i = 0; i < samples.get(k).size(); i++) {
                    double x = samples.get(k).get(i)[f];
                    v.add(x);
                    csv.append(String.format(Locale.ROOT, "%s@%s,%d,%.1f%n", kinds[f], jar,
                            i + 1, x));
                }
                Collections.sort(v);
                System.out.printf(Locale.ROOT, "%s %s: median %.0f, min %.0f, max %.0f%n", jar,
                        kinds[f], median(v), v.get(0), v.get(v.size() - 1));
            }
        }
        for (int k = 1; k < n; k++) {
            List<Double> ratios = new ArrayList<>();
            for (int i = 0; i < trials; i++) {
                ratios.add(samples.get(k).get(i)[0] / samples.get(0).get(i)[0]);
            }
            Collections.sort(ratios);
            System.out.printf(Locale.ROOT, "answer %s / %s, paired by trial: median %.3f, "
                    + "min %.3f, max %.3f%n", jars.get(k).getFileName(),
                    jars.get(0).getFileName(), median(ratios), ratios.get(0),
                    ratios.get(ratios.size() - 1));
        }
        for (Path t : templates) {
            delete(t);
        }
        if (out != null) {
            Files.writeString(out, csv);
        }
    }

    static double median(List<Double> sorted) {
        int m = sorted.size() / 2;
        return sorted.size() % 2 == 1 ? sorted.get(m) : (sorted.get(m - 1) + sorted.get(m)) / 2;
    }

    /** Answer, CPU until the answer, web up (-1 when not waited for), exit; ms from the start. */
    private static double[] run(Path jar, Path dir, boolean pipe) throws Exception {
        int port = port(dir);
        if (port < 0) {
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
        }
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dorg.osgi.service.http.port=" + port, "-jar", jar.toString()));
        if (!pipe) {
            cmd.addAll(List.of("-c", COMMAND));
        }
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .start();
        OutputStream in = p.getOutputStream();
        if (pipe) {
            in.write((COMMAND + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        } else {
            in.close();
        }
        double answer = -1;
        double cpu = -1;
        double web = -1;
        StringBuilder said = new StringBuilder();
        try (BufferedReader r = new BufferedReader(
                new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null;) {
                said.append(line).append('\n');
                if (answer < 0 && line.contains(ANSWER)) {
                    answer = ms(System.nanoTime() - t0);
                    cpu = p.info().totalCpuDuration().map(d -> d.toNanos() / 1e6).orElse(-1.0);
                    if (pipe) {
                        web = awaitHttp(port, t0);
                        in.write("stop 0\n".getBytes(StandardCharsets.UTF_8));
                        in.close();
                    }
                }
            }
        }
        if (!p.waitFor(60, TimeUnit.SECONDS) || answer < 0) {
            p.destroyForcibly();
            throw new IllegalStateException("no answer from " + jar + " in " + dir + ":\n" + said);
        }
        for (String line : said.toString().split("\n")) {
            if (line.startsWith("ERROR") || line.startsWith("WARNING") || line.startsWith("\tat")) {
                System.out.println("  " + jar.getFileName() + " said: " + line);
            }
        }
        return new double[] {answer, cpu, web, ms(System.nanoTime() - t0)};
    }

    /** The port the runtime wrote into deploy/ on its first start there, or -1. */
    private static int port(Path dir) throws IOException {
        Path config = dir.resolve("deploy").resolve("org.apache.felix.http.config");
        if (!Files.exists(config)) {
            return -1;
        }
        for (String line : Files.readAllLines(config, StandardCharsets.UTF_8)) {
            if (line.startsWith("org.osgi.service.http.port=")) {
                return Integer.parseInt(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    /** When the HTTP port first answers a request (any status), in ms from t0; -1 after 20 s. */
    private static double awaitHttp(int port, long t0) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            try {
                HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + port
                        + "/").openConnection();
                c.setConnectTimeout(200);
                c.setReadTimeout(2000);
                c.getResponseCode();
                c.disconnect();
                return ms(System.nanoTime() - t0);
            } catch (IOException e) {
                Thread.sleep(20);
            }
        }
        return -1;
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path q = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(q);
                } else if (!p.getFileName().toString().equals("lock")) {
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
