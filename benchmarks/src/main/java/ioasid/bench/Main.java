package ioasid.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs the benchmarks with JMH and writes {@code jmh.json} (JMH's own format) and
 * {@code results.md} (medians, error bars and ratios to the core, the footprint, and the
 * settings) into the output directory.
 *
 * <pre>java -jar benchmarks.jar [--out DIR] [--no-footprint] [JMH options and filters]</pre>
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws IOException, RunnerException {
        Path out = Path.of("benchmark-results");
        boolean footprint = true;
        List<String> jmhArgs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--out") && i + 1 < args.length) {
                out = Path.of(args[++i]);
            } else if (args[i].equals("--no-footprint")) {
                footprint = false;
            } else {
                jmhArgs.add(args[i]);
            }
        }
        if (jmhArgs.stream().anyMatch(a -> Arrays.asList("-h", "-l", "-lp", "-lprof", "-lrf")
                .contains(a))) {
            org.openjdk.jmh.Main.main(jmhArgs.toArray(String[]::new));
            return;
        }
        CommandLineOptions cli;
        try {
            cli = new CommandLineOptions(jmhArgs.toArray(String[]::new));
        } catch (CommandLineOptionException e) {
            System.err.println("Error parsing command line: " + e.getMessage());
            System.exit(1);
            return;
        }
        Files.createDirectories(out);
        Path json = out.resolve("jmh.json");
        Options opts = new OptionsBuilder().parent(cli)
                .resultFormat(ResultFormatType.JSON)
                .result(json.toString())
                .build();
        Collection<RunResult> results = new Runner(opts).run();
        Map<IdSpace.Kind, Double> bytes = footprint ? Footprint.measure() : Map.of();
        String table = Report.markdown(results, bytes);
        Files.writeString(out.resolve("results.md"), table);
        System.out.println();
        System.out.println(table);
        System.out.println("Results: " + json.toAbsolutePath() + " and "
                + out.resolve("results.md").toAbsolutePath());
    }
}
