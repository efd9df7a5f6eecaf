package ioasid.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.util.Statistics;
import org.openjdk.jmh.util.Version;

/**
 * The readable table: one row per benchmark, parameters and implementation, with the median of
 * the measured iterations, JMH's 99.9% confidence half-width, the range, and how many times
 * better the platform's row of the same group is; and, for runs of several forks, the spread of
 * the forks' means.
 */
final class Report {
    /** The implementation parameter; its first value in a group is the reference. */
    static final String IMPL = "impl";

    private Report() {
    }

    static String markdown(Collection<RunResult> results, Map<IdSpace.Kind, Double> bytes) {
        StringBuilder b = new StringBuilder();
        b.append("| benchmark | params | impl | median | ± 99.9% | min – max | unit | platform ×"
                + " |\n|---|---|---|---:|---:|---:|---|---:|\n");
        Map<String, List<RunResult>> groups = new LinkedHashMap<>();
        for (RunResult r : results) {
            groups.computeIfAbsent(groupKey(r.getParams()), k -> new ArrayList<>()).add(r);
        }
        Map<String, String> settings = new TreeMap<>();
        for (List<RunResult> group : groups.values()) {
            RunResult ref = group.get(0);
            for (RunResult r : group) {
                BenchmarkParams p = r.getParams();
                Result<?> res = r.getPrimaryResult();
                Statistics st = res.getStatistics();
                String name = shortName(p.getBenchmark());
                b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s – %s | %s | %s |%n",
                        name, otherParams(p), p.getParam(IMPL), fmt(st.getPercentile(50)),
                        fmt(res.getScoreError()), fmt(st.getMin()), fmt(st.getMax()),
                        res.getScoreUnit(), ratio(ref, r)));
                settings.put(name, String.format(Locale.ROOT,
                        "%s, %d fork(s), warmup %d × %s, measurement %d × %s, %d thread(s), "
                                + "JVM args %s", p.getMode().longLabel(), p.getForks(),
                        p.getWarmup().getCount(), p.getWarmup().getTime(),
                        p.getMeasurement().getCount(), p.getMeasurement().getTime(),
                        p.getThreads(), p.getJvmArgs()));
            }
        }
        appendForkSpread(b, results);
        if (!bytes.isEmpty()) {
            b.append("\n| footprint, 2^20 - 1 live IDs | bytes per live ID |\n|---|---:|\n");
            bytes.forEach((k, v) -> b.append(String.format(Locale.ROOT, "| %s | %.1f |%n", k, v)));
        }
        b.append("\nSettings (").append(Version.getPlainVersion()).append(", ")
                .append(System.getProperty("java.vm.name")).append(' ')
                .append(System.getProperty("java.vm.version")).append(", ")
                .append(Runtime.getRuntime().availableProcessors()).append(" CPUs):\n");
        settings.forEach((k, v) -> b.append("- ").append(k).append(": ").append(v).append('\n'));
        b.append("\n`platform ×` is how many times better the group's first row (the platform)"
                + " is than the row: its time divided into the row's time, or the row's"
                + " throughput divided into its throughput.\n");
        return b.toString();
    }

    /**
     * One row per benchmark run with more than one fork: the lowest, median and highest of the
     * forks' means, and the highest over the lowest. A fork's page layout and JIT decisions stay
     * fixed for its life, so this spread is what one fork cannot tell apart.
     */
    private static void appendForkSpread(StringBuilder b, Collection<RunResult> results) {
        StringBuilder rows = new StringBuilder();
        for (RunResult r : results) {
            List<Double> means = new ArrayList<>();
            for (BenchmarkResult f : r.getBenchmarkResults()) {
                means.add(f.getPrimaryResult().getScore());
            }
            if (means.size() < 2) {
                continue;
            }
            double[] s = forkSpread(means);
            BenchmarkParams p = r.getParams();
            String params = otherParams(p);
            rows.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %s | %s | %s | %s | %.2f |%n",
                    shortName(p.getBenchmark()), params, p.getParam(IMPL), means.size(), fmt(s[0]),
                    fmt(s[1]), fmt(s[2]), r.getPrimaryResult().getScoreUnit(), s[2] / s[0]));
        }
        if (rows.length() > 0) {
            b.append("\n| per-fork spread | params | impl | forks | min | median | max | unit"
                    + " | max / min |\n|---|---|---|---:|---:|---:|---:|---|---:|\n").append(rows);
        }
    }

    /** The lowest, the median and the highest of the forks' means. */
    static double[] forkSpread(List<Double> forkMeans) {
        double[] v = forkMeans.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = v.length;
        double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        return new double[] {v[0], median, v[n - 1]};
    }

    private static String groupKey(BenchmarkParams p) {
        return p.getBenchmark() + " " + otherParams(p);
    }

    private static String shortName(String benchmark) {
        String s = benchmark.substring("ioasid.bench.".length());
        return s;
    }

    private static String otherParams(BenchmarkParams p) {
        StringBuilder s = new StringBuilder();
        for (String k : p.getParamsKeys()) {
            if (!k.equals(IMPL)) {
                s.append(s.length() == 0 ? "" : ", ").append(k).append('=').append(p.getParam(k));
            }
        }
        return s.toString();
    }

    private static String ratio(RunResult ref, RunResult r) {
        double a = ref.getPrimaryResult().getStatistics().getPercentile(50);
        double x = r.getPrimaryResult().getStatistics().getPercentile(50);
        boolean higherBetter = r.getParams().getMode().shortLabel().equals("thrpt");
        double v = higherBetter ? a / x : x / a;
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String fmt(double v) {
        if (Double.isNaN(v)) {
            return "–";
        }
        double a = Math.abs(v);
        return String.format(Locale.ROOT, a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f"
                : "%.3f", v);
    }
}
