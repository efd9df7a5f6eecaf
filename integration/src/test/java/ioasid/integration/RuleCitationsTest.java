package ioasid.integration;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The numbered references the sources make (kernel rules, hardware-fact sections, platform
 * decisions, known bugs, design documents) must all be defined in docs/, where each one has an
 * explicit {@code <a id="...">} anchor. docs/README.md describes the forms a citation takes.
 *
 * <p>Java files are read through a small lexer that keeps comments and string literals and
 * blanks out code, so an identifier that happens to look like a decision number is never taken
 * for one. Other files are read whole.
 */
class RuleCitationsTest {

    /** What a citation points at: the docs file that defines it and the prefix of its anchor. */
    enum Kind {
        RULE("rule", "rules.md", "rule-"),
        SECTION("section", "rules.md", "section-"),
        DECISION("decision D", "decisions.md", "d"),
        BUG("known bug", "known-bugs.md", "bug-"),
        SEED("seed", "README.md", "seed-");

        final String label;
        final String file;
        final String anchorPrefix;

        Kind(String label, String file, String anchorPrefix) {
            this.label = label;
            this.file = file;
            this.anchorPrefix = anchorPrefix;
        }
    }

    record Citation(Kind kind, String number, String file, int line) {
        String anchor() {
            return kind.anchorPrefix + number;
        }

        String target() {
            return kind.label + (kind == Kind.DECISION ? "" : " ") + number;
        }
    }

    /** One number, not part of a longer word or of a dotted number such as 4.3.1. */
    private static final String NUM = "\\d+(?!\\w|\\.\\d)";
    /** One item of a list: a number or a range of numbers. */
    private static final String ITEM = NUM + "(?:\\s?[-\u2013]\\s?" + NUM + ")?";
    /** Between two items: a comma (the list may go on after a line break and a comment
     *  prefix), a slash, "and" or "or". */
    private static final String SEP =
            "(?:\\s*,\\s*(?:(?://|\\*)\\s*)?|\\s*/\\s*|\\s+(?:and|or)\\s+)";
    private static final String LIST = "(" + ITEM + "(?:" + SEP + ITEM + ")*)";
    /** Spaces between two words, possibly across a line break inside a comment. */
    private static final String GAP = "\\s+(?:(?://|\\*)\\s*)?";

    private static final Pattern ITEM_IN_LIST =
            Pattern.compile("(\\d+)(?:\\s?[-\u2013]\\s?(\\d+))?");
    private static final Pattern RULES =
            Pattern.compile("(?i)\\brules?" + GAP + LIST);
    private static final Pattern BUGS =
            Pattern.compile("(?i)\\bknown" + GAP + "bugs?" + GAP + LIST);
    private static final Pattern SECTION =
            Pattern.compile("(?i)\\bsection" + GAP + "(" + NUM + ")");
    private static final Pattern SEED =
            Pattern.compile("(?i)\\bseed" + GAP + "(\\d{3})\\b");
    /** Case-sensitive and bounded by word boundaries: "D17", "D4-D7", the two of "D2/D7".
     *  "0x3D1", "3D" or "Dx" do not match. */
    private static final Pattern DECISION =
            Pattern.compile("\\bD(\\d+)\\b(?:\\s?[-\u2013]\\s?D(\\d+)\\b)?");
    private static final Pattern ANCHOR = Pattern.compile("<a\\s+(?:id|name)=\"([^\"]+)\"");
    private static final Pattern PARENT = Pattern.compile("<parent>.*?</parent>", Pattern.DOTALL);

    private static Path root;
    private static List<Citation> citations;
    private static Map<String, List<String>> anchors;

    @BeforeAll
    static void scan() throws IOException {
        root = findRoot();
        citations = new ArrayList<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                String name = dir.getFileName() == null ? "" : dir.getFileName().toString();
                boolean skip = name.equals("target") || name.equals(".git")
                        || dir.equals(root.resolve("docs"));
                return skip ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                String name = file.getFileName().toString();
                if (name.endsWith(".java") || name.endsWith(".bnd") || name.endsWith(".md")
                        || name.endsWith(".bndrun")) {
                    String text = Files.readString(file, StandardCharsets.UTF_8);
                    if (name.endsWith(".java")) {
                        text = commentsAndStrings(text);
                    }
                    citations.addAll(citationsIn(text, root.relativize(file).toString()));
                }
                return FileVisitResult.CONTINUE;
            }
        });
        citations.sort(Comparator.comparing(Citation::file).thenComparingInt(Citation::line));
        anchors = new HashMap<>();
        Path docs = root.resolve("docs");
        if (Files.isDirectory(docs)) {
            try (var files = Files.list(docs)) {
                for (Path file : files.filter(p -> p.toString().endsWith(".md")).sorted().toList()) {
                    List<String> ids = new ArrayList<>();
                    Matcher m = ANCHOR.matcher(Files.readString(file, StandardCharsets.UTF_8));
                    while (m.find()) {
                        ids.add(m.group(1));
                    }
                    anchors.put(file.getFileName().toString(), ids);
                }
            }
        }
        Set<String> distinct = citations.stream()
                .map(c -> c.kind().file + "#" + c.anchor()).collect(Collectors.toCollection(TreeSet::new));
        System.out.printf("%d citations of %d distinct targets in %s%n",
                citations.size(), distinct.size(), root);
    }

    @Test
    @DisplayName("every rule, section, decision, known bug and seed cited in the sources is defined in docs/")
    void everyCitationResolves() {
        assertFalse(citations.isEmpty(), "no citation found under " + root + ": is the scan broken?");
        Map<String, Set<String>> missing = new TreeMap<>();
        for (Citation c : citations) {
            List<String> ids = anchors.getOrDefault(c.kind().file, List.of());
            if (!ids.contains(c.anchor())) {
                missing.computeIfAbsent("docs/" + c.kind().file + "#" + c.anchor() + " (" + c.target() + ")",
                        k -> new LinkedHashSet<>()).add(c.file() + ":" + c.line());
            }
        }
        if (!missing.isEmpty()) {
            StringBuilder msg = new StringBuilder(missing.size()
                    + " cited rule(s), decision(s), bug(s) or seed(s) have no anchor in docs/:\n");
            missing.forEach((target, where) -> {
                msg.append("  ").append(target).append(" cited at\n");
                where.forEach(w -> msg.append("      ").append(w).append('\n'));
            });
            fail(msg.toString());
        }
    }

    @Test
    @DisplayName("each anchor in docs/ is defined once, and rules.md defines rules")
    void anchorsAreUnique() {
        List<String> rules = anchors.getOrDefault("rules.md", List.of());
        assertTrue(rules.stream().anyMatch(id -> id.startsWith("rule-")), "docs/rules.md defines no rule anchor");
        StringBuilder msg = new StringBuilder();
        anchors.forEach((file, ids) -> {
            Map<String, Integer> count = new LinkedHashMap<>();
            ids.forEach(id -> count.merge(id, 1, Integer::sum));
            count.forEach((id, n) -> {
                if (n > 1) {
                    msg.append("  docs/").append(file).append('#').append(id).append(" defined ").append(n)
                            .append(" times\n");
                }
            });
        });
        if (msg.length() > 0) {
            fail("duplicate anchors in docs/:\n" + msg);
        }
    }

    /** The directory of the pom whose own artifactId (not its parent's) is ioasid-parent. */
    private static Path findRoot() throws IOException {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path pom = dir.resolve("pom.xml");
            if (Files.isRegularFile(pom)) {
                String own = PARENT.matcher(Files.readString(pom, StandardCharsets.UTF_8)).replaceAll("");
                if (own.contains("<artifactId>ioasid-parent</artifactId>")) {
                    return dir;
                }
            }
        }
        throw new IllegalStateException("no pom.xml of ioasid-parent above " + Path.of("").toAbsolutePath());
    }

    static List<Citation> citationsIn(String text, String file) {
        List<Citation> found = new ArrayList<>();
        listed(RULES, Kind.RULE, text, file, found);
        listed(BUGS, Kind.BUG, text, file, found);
        Matcher m = SECTION.matcher(text);
        while (m.find()) {
            found.add(new Citation(Kind.SECTION, m.group(1), file, line(text, m.start(1))));
        }
        m = SEED.matcher(text);
        while (m.find()) {
            found.add(new Citation(Kind.SEED, m.group(1), file, line(text, m.start(1))));
        }
        m = DECISION.matcher(text);
        while (m.find()) {
            range(Kind.DECISION, m.group(1), m.group(2), file, line(text, m.start()), found);
        }
        return found;
    }

    /** Each item of the list a pattern's group 1 captured, with ranges expanded. */
    private static void listed(Pattern pattern, Kind kind, String text, String file, List<Citation> found) {
        Matcher m = pattern.matcher(text);
        while (m.find()) {
            Matcher item = ITEM_IN_LIST.matcher(text).region(m.start(1), m.end(1));
            while (item.find()) {
                range(kind, item.group(1), item.group(2), file, line(text, item.start()), found);
            }
        }
    }

    private static void range(Kind kind, String from, String to, String file, int line, List<Citation> found) {
        int first = Integer.parseInt(from);
        int last = to == null ? first : Integer.parseInt(to);
        if (last < first || last - first > 200) {
            // a reversed or absurd range has no anchor, so it is reported as it was written
            found.add(new Citation(kind, from + "-" + to, file, line));
            return;
        }
        for (int n = first; n <= last; n++) {
            found.add(new Citation(kind, String.valueOf(n), file, line));
        }
    }

    private static int line(String text, int offset) {
        int line = 1;
        for (int i = 0; i < offset; i++) {
            if (text.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
    }

    /**
     * The Java source with everything but comments and string, character and text-block
     * literals replaced by spaces. Line breaks stay, so offsets and line numbers are unchanged.
     */
    static String commentsAndStrings(String src) {
        StringBuilder out = new StringBuilder(src.length());
        int i = 0;
        int n = src.length();
        while (i < n) {
            char c = src.charAt(i);
            int end;
            if (src.startsWith("//", i)) {
                end = src.indexOf('\n', i);
                end = end < 0 ? n : end;
            } else if (src.startsWith("/*", i)) {
                end = src.indexOf("*/", i + 2);
                end = end < 0 ? n : end + 2;
            } else if (src.startsWith("\"\"\"", i)) {
                end = i + 3;
                while (end < n && !src.startsWith("\"\"\"", end)) {
                    end += src.charAt(end) == '\\' ? 2 : 1;
                }
                end = Math.min(n, end + 3);
            } else if (c == '"' || c == '\'') {
                end = i + 1;
                while (end < n && src.charAt(end) != c && src.charAt(end) != '\n') {
                    end += src.charAt(end) == '\\' ? 2 : 1;
                }
                end = Math.min(n, end + 1);
            } else {
                out.append(c == '\n' ? '\n' : ' ');
                i++;
                continue;
            }
            out.append(src, i, end);
            i = end;
        }
        return out.toString();
    }
}
