package ioasid.console.impl;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Supplier;

import org.jline.reader.Candidate;
import org.jline.reader.Completer;
import org.jline.reader.LineReader;
import org.jline.reader.ParsedLine;

/**
 * Tab completion: command names in the first word; after it, what the command takes there (set
 * numbers, IOASIDs, devices, backends, bundles), read from the platform when Tab is pressed.
 */
final class Completion implements Completer {
    /** What one argument position offers. */
    enum Kind { SETS, IDS, DEVICES, BACKENDS, BUNDLES, COMMANDS }

    private static final Map<String, Kind[]> ARGS = Map.ofEntries(
            Map.entry("alloc", new Kind[] {Kind.SETS}),
            Map.entry("rmset", new Kind[] {Kind.SETS}),
            Map.entry("ids", new Kind[] {Kind.SETS}),
            // the platform space's sets, also after -s: completion does not ask another space
            Map.entry("exportset", new Kind[] {Kind.SETS}),
            Map.entry("freeset", new Kind[] {Kind.SETS}),
            Map.entry("free", new Kind[] {Kind.IDS}),
            Map.entry("get", new Kind[] {Kind.IDS}),
            Map.entry("put", new Kind[] {Kind.IDS}),
            Map.entry("find", new Kind[] {Kind.IDS}),
            Map.entry("attach", new Kind[] {Kind.IDS}),
            Map.entry("detach", new Kind[] {Kind.IDS}),
            Map.entry("probe", new Kind[] {Kind.DEVICES}),
            Map.entry("log", new Kind[] {Kind.BACKENDS}),
            Map.entry("start", new Kind[] {Kind.BUNDLES}),
            Map.entry("stop", new Kind[] {Kind.BUNDLES}),
            Map.entry("update", new Kind[] {Kind.BUNDLES}),
            Map.entry("uninstall", new Kind[] {Kind.BUNDLES}),
            Map.entry("headers", new Kind[] {Kind.BUNDLES}),
            Map.entry("help", new Kind[] {Kind.COMMANDS}));

    private final Supplier<Collection<String>> commands;
    private final Map<Kind, Supplier<Collection<String>>> values;

    /**
     * @param commands the session's commands, as "scope:function"
     * @param values where each kind's candidates come from; a kind without one offers nothing
     */
    Completion(Supplier<Collection<String>> commands,
            Map<Kind, Supplier<Collection<String>>> values) {
        this.commands = commands;
        this.values = values;
    }

    @Override
    public void complete(LineReader reader, ParsedLine line, List<Candidate> candidates) {
        for (String c : candidates(line.words(), line.wordIndex())) {
            candidates.add(new Candidate(c, c, null, null, null, null, true));
        }
    }

    /** The words that may stand at position {@code index} of a line split into words. */
    List<String> candidates(List<String> words, int index) {
        if (index == 0) {
            return commandNames();
        }
        String command = words.get(0);
        Kind[] kinds = ARGS.get(command.substring(command.indexOf(':') + 1));
        int position = positional(words, index);
        if (kinds == null || position < 0 || position >= kinds.length) {
            return List.of();
        }
        if (kinds[position] == Kind.COMMANDS) {
            return commandNames();
        }
        Supplier<Collection<String>> source = values.get(kinds[position]);
        if (source == null) {
            return List.of();
        }
        try {
            return new ArrayList<>(source.get());
        } catch (RuntimeException e) {
            return List.of(); // a service that is leaving offers nothing this time
        }
    }

    /** The argument's position among the ones that are not options (and their values). */
    private static int positional(List<String> words, int index) {
        int p = -1;
        for (int i = 1; i <= index; i++) {
            String w = i < words.size() ? words.get(i) : "";
            if (w.startsWith("-") && i < index) {
                i++; // the option's value
                continue;
            }
            p++;
        }
        return p;
    }

    private List<String> commandNames() {
        TreeSet<String> names = new TreeSet<>();
        TreeSet<String> shortNames = new TreeSet<>();
        TreeSet<String> clashing = new TreeSet<>();
        for (String c : commands.get()) {
            if (c.endsWith(":*")) {
                continue;
            }
            names.add(c);
            String shortName = c.substring(c.indexOf(':') + 1);
            if (!shortNames.add(shortName)) {
                clashing.add(shortName);
            }
        }
        shortNames.removeAll(clashing);
        names.addAll(shortNames);
        return new ArrayList<>(names);
    }
}
