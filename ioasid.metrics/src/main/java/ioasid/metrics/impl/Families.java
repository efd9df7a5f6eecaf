package ioasid.metrics.impl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

/**
 * The metric families of one scrape, filled point by point: a counter's name is given without
 * {@code _total}, which the text format appends. Label values are passed through as they are;
 * the exposition escapes them (backslash, double quote, newline), so an operator's set token
 * cannot break a line or forge a label.
 */
final class Families {
    private static final class Family {
        final boolean counter;
        final String help;
        final List<Object> points = new ArrayList<>();

        Family(boolean counter, String help) {
            this.counter = counter;
            this.help = help;
        }
    }

    private final Map<String, Family> families = new LinkedHashMap<>();

    /** Declares a family that may stay empty, so that it is listed with its help. */
    Families counter(String name, String help) {
        families.computeIfAbsent(name, n -> new Family(true, help));
        return this;
    }

    Families gauge(String name, String help) {
        families.computeIfAbsent(name, n -> new Family(false, help));
        return this;
    }

    /** A point of a declared family; labels as name, value, name, value... */
    Families point(String name, double value, String... labels) {
        Family f = families.get(name);
        if (f == null) {
            throw new IllegalArgumentException("undeclared metric " + name);
        }
        String[] l = labels.clone();
        for (int i = 1; i < l.length; i += 2) {
            l[i] = l[i] == null ? "" : l[i];
        }
        Labels ls = Labels.of(l);
        f.points.add(f.counter
                ? CounterDataPointSnapshot.builder().value(value).labels(ls).build()
                : GaugeDataPointSnapshot.builder().value(value).labels(ls).build());
        return this;
    }

    MetricSnapshots build() {
        List<MetricSnapshot> out = new ArrayList<>();
        for (Map.Entry<String, Family> e : families.entrySet()) {
            Family f = e.getValue();
            if (f.counter) {
                CounterSnapshot.Builder b = CounterSnapshot.builder().name(e.getKey())
                        .help(f.help);
                f.points.forEach(p -> b.dataPoint((CounterDataPointSnapshot) p));
                out.add(b.build());
            } else {
                GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(e.getKey()).help(f.help);
                f.points.forEach(p -> b.dataPoint((GaugeDataPointSnapshot) p));
                out.add(b.build());
            }
        }
        return new MetricSnapshots(out);
    }
}
