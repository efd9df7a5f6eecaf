package ioasid.integration;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import ioasid.api.IoasidTopics;
import ioasid.api.iommu.spi.BackendConfigurations;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.spi.IoasidAllocator;
import ioasid.api.spi.IoasidListener;

/**
 * The guides in docs/ say what the bundles do, and must go on saying it: the configuration
 * tables of docs/plugin-guide.md against the Metatype XML the bundles carry (every attribute,
 * its type, range or options, and default, and no attribute that is gone), the SPIs' service
 * property names and priorities, and the Event Admin topics of docs/operator-guide.md.
 *
 * <p>The Metatype XML is generated into the bundle jars when they are packaged, so this test
 * reads the jars on its class path, which a {@code verify} of the reactor provides. Run where
 * the class path holds compiled classes instead ({@code mvn test}), it is skipped.
 */
class DocsTest {

    /** A bundle by a class it holds. */
    private static final Map<String, String> BUNDLES = Map.of(
            "ioasid.core", "ioasid/core/impl/IoasidCore.class",
            "backend.smmuv3", "ioasid/backend/smmuv3/impl/Smmuv3Backend.class",
            "backend.vtd", "ioasid/backend/vtd/impl/VtdBackend.class",
            "backend.virtio", "ioasid/backend/virtio/impl/VirtioIommuBackend.class",
            "ioasid.http", "ioasid/http/impl/IoasidHttpContext.class",
            // host and guest roles over Remote Services (issue 17, remote)
            "ioasid.remote", "ioasid/remote/impl/RemoteHost.class");

    /** A configuration section: "#### `ioasid.backend.vtd` (factory)". */
    private static final Pattern SECTION =
            Pattern.compile("^#{2,6} `(ioasid\\.[\\w.-]+)`( \\(factory\\))?\\s*$");
    private static final Pattern HEADING = Pattern.compile("^#{1,6} ");

    record Attribute(String id, String type, int cardinality, String min, String max,
            String defaultValue, List<String> options) {
    }

    record Definition(String pid, boolean factory, String bundle, List<Attribute> attributes) {
    }

    /** One configuration table of the guide: key to the row's cells. */
    record Table(String pid, boolean factory, int line, Map<String, List<String>> rows) {
    }

    private static Path root;
    private static String pluginGuide;
    private static String operatorGuide;

    @BeforeAll
    static void read() throws IOException {
        root = findRoot();
        pluginGuide = Files.readString(root.resolve("docs/plugin-guide.md"), StandardCharsets.UTF_8);
        operatorGuide = Files.readString(root.resolve("docs/operator-guide.md"),
                StandardCharsets.UTF_8);
    }

    @Test
    @DisplayName("plugin-guide.md has a table for every configuration the bundles define, with "
            + "each attribute's type, range, options and default as their Metatype XML says")
    void configurationTables() throws Exception {
        Map<String, Definition> defined = new TreeMap<>();
        for (Map.Entry<String, String> b : BUNDLES.entrySet()) {
            for (Definition d : definitions(b.getKey(), b.getValue())) {
                defined.put(d.pid(), d);
            }
        }
        Map<String, Table> documented = tables(pluginGuide);
        List<String> problems = new ArrayList<>();
        for (Definition d : defined.values()) {
            Table t = documented.get(d.pid());
            if (t == null) {
                problems.add(d.pid() + " (" + d.bundle() + "): no section \"`" + d.pid() + "`"
                        + (d.factory() ? " (factory)" : "") + "\" with a table");
                continue;
            }
            if (t.factory() != d.factory()) {
                problems.add(d.pid() + " (line " + t.line() + "): the heading "
                        + (d.factory() ? "lacks" : "has") + " \"(factory)\"");
            }
            compare(d, t, problems);
        }
        for (Table t : documented.values()) {
            if (!defined.containsKey(t.pid())) {
                problems.add(t.pid() + " (line " + t.line() + "): no bundle defines it");
            }
        }
        if (!problems.isEmpty()) {
            fail("docs/plugin-guide.md disagrees with the bundles' Metatype definitions:\n  "
                    + String.join("\n  ", problems));
        }
        assertTrue(defined.size() >= 6, "too few definitions found: " + defined.keySet());
    }

    @Test
    @DisplayName("plugin-guide.md names every service property and priority of the SPIs")
    void serviceProperties() throws Exception {
        List<String> missing = new ArrayList<>();
        for (Class<?> c : List.of(IoasidAllocator.class, IoasidListener.class, IommuBackend.class,
                BackendConfigurations.class)) {
            for (Field f : constants(c)) {
                Object v = f.get(null);
                if (v instanceof String s) {
                    if (!pluginGuide.contains("`" + s + "`")) {
                        missing.add(c.getSimpleName() + "." + f.getName() + " = `" + s + "`");
                    }
                } else if (!hasLine(pluginGuide, "`" + f.getName() + "`", v.toString())) {
                    missing.add(c.getSimpleName() + "." + f.getName() + " (" + v
                            + "), on one line with its value");
                }
            }
        }
        assertTrue(missing.isEmpty(), "docs/plugin-guide.md does not name: " + missing);
    }

    @Test
    @DisplayName("operator-guide.md names every Event Admin topic and event property")
    void topics() throws Exception {
        List<String> missing = new ArrayList<>();
        for (Field f : constants(IoasidTopics.class)) {
            String s = (String) f.get(null);
            if (!operatorGuide.contains("`" + s + "`")) {
                missing.add("IoasidTopics." + f.getName() + " = `" + s + "`");
            }
        }
        assertTrue(missing.isEmpty(), "docs/operator-guide.md does not name: " + missing);
    }

    @Test
    @DisplayName("the table reader finds the rows of a configuration section, cell by cell")
    void tableReader() {
        Map<String, Table> t = tables(String.join("\n",
                "#### `ioasid.x` (factory)", "", "Text.", "",
                "| key | type | range | default | what it is |",
                "|---|---|---|---|---|",
                "| `a.b` | Integer | [0, 7] | `3` | one \\| two |",
                "| `c` | String[] | - | (none) | list |",
                "", "#### `ioasid.y`", "", "| key | type |", "|---|---|", "| `d` | Long |",
                "", "#### `ioasid.z`", "", "Text without a table.",
                "## Next", "", "| key | type |", "|---|---|", "| `e` | Long |"));
        assertTrue(t.get("ioasid.x").factory());
        assertFalse(t.get("ioasid.y").factory());
        assertTrue(t.get("ioasid.x").rows().get("a.b")
                .equals(List.of("`a.b`", "Integer", "[0, 7]", "`3`", "one | two")));
        assertTrue(t.get("ioasid.x").rows().keySet().equals(new TreeSet<>(List.of("a.b", "c"))));
        assertTrue(t.get("ioasid.y").rows().containsKey("d"));
        assertTrue(t.get("ioasid.z").rows().isEmpty(), "a table after the next heading is not "
                + "the section's: " + t.get("ioasid.z"));
    }

    // ---------------------------------------------------------------- comparing

    private static void compare(Definition d, Table t, List<String> problems) {
        Map<String, List<String>> rows = new LinkedHashMap<>(t.rows());
        for (Attribute a : d.attributes()) {
            List<String> row = rows.remove(a.id());
            String where = d.pid() + " " + a.id();
            if (row == null) {
                problems.add(where + ": no row (table at line " + t.line() + ")");
                continue;
            }
            if (row.size() < 4) {
                problems.add(where + ": the row has " + row.size() + " cells, not key, type, "
                        + "range, default, ...");
                continue;
            }
            expect(problems, where, "type", type(a), row.get(1));
            expect(problems, where, "range", range(a), row.get(2));
            expect(problems, where, "default", defaultValue(a), row.get(3));
        }
        for (String extra : rows.keySet()) {
            problems.add(d.pid() + " " + extra + ": documented, but not an attribute of "
                    + d.bundle() + "'s definition");
        }
    }

    private static void expect(List<String> problems, String where, String what, String want,
            String have) {
        if (!want.equals(have)) {
            problems.add(where + ": " + what + " is \"" + have + "\" in the guide, \"" + want
                    + "\" in the bundle");
        }
    }

    /** Metatype's type, with [] for a multi-valued attribute. */
    static String type(Attribute a) {
        return a.type() + (a.cardinality() != 0 ? "[]" : "");
    }

    /** The options in backticks, "[min, max]", "≥ min", "≤ max", or "-". */
    static String range(Attribute a) {
        if (!a.options().isEmpty()) {
            List<String> quoted = new ArrayList<>();
            for (String o : a.options()) {
                quoted.add("`" + o + "`");
            }
            return String.join(", ", quoted);
        }
        if (a.min() != null && a.max() != null) {
            return "[" + a.min() + ", " + a.max() + "]";
        }
        if (a.min() != null) {
            return "≥ " + a.min();
        }
        return a.max() != null ? "≤ " + a.max() : "-";
    }

    /** The default in backticks, each value of a multi-valued one apart; "(none)" for none. */
    static String defaultValue(Attribute a) {
        String d = a.defaultValue();
        if (d == null || d.isEmpty()) {
            return "(none)";
        }
        List<String> values = a.cardinality() != 0 ? split(d) : List.of(d);
        List<String> quoted = new ArrayList<>();
        for (String v : values) {
            quoted.add("`" + v + "`");
        }
        return String.join(", ", quoted);
    }

    /** Metatype's list of defaults: comma-separated, "\," a comma inside a value. */
    private static List<String> split(String list) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < list.length(); i++) {
            char c = list.charAt(i);
            if (c == '\\' && i + 1 < list.length()) {
                cur.append(list.charAt(++i));
            } else if (c == ',') {
                out.add(cur.toString().trim());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString().trim());
        return out;
    }

    // ---------------------------------------------------------------- the bundles

    /** The Metatype definitions of the bundle holding {@code resource}, by their PIDs. */
    private static List<Definition> definitions(String bundle, String resource) throws Exception {
        URL url = DocsTest.class.getClassLoader().getResource(resource);
        assertTrue(url != null, bundle + " is not on the test class path (" + resource + ")");
        Assumptions.assumeTrue("jar".equals(url.getProtocol()), "the class path holds " + bundle
                + "'s classes, not its jar (" + url + "): its Metatype XML is generated at "
                + "package, so this check runs with verify");
        List<Definition> out = new ArrayList<>();
        try (JarFile jar = new JarFile(jarOf(url))) {
            for (JarEntry e : Collections.list(jar.entries())) {
                if (e.getName().startsWith("OSGI-INF/metatype/") && e.getName().endsWith(".xml")) {
                    try (InputStream in = jar.getInputStream(e)) {
                        out.addAll(parse(bundle, in));
                    }
                }
            }
        }
        assertFalse(out.isEmpty(), bundle + " carries no Metatype definition");
        return out;
    }

    private static File jarOf(URL url) throws URISyntaxException {
        String path = url.getPath();
        return new File(new java.net.URI(path.substring(0, path.indexOf("!/"))));
    }

    private static List<Definition> parse(String bundle, InputStream in) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        Document doc = f.newDocumentBuilder().parse(in);
        Map<String, List<Attribute>> ocds = new LinkedHashMap<>();
        NodeList ocdNodes = doc.getElementsByTagNameNS("*", "OCD");
        for (int i = 0; i < ocdNodes.getLength(); i++) {
            Element ocd = (Element) ocdNodes.item(i);
            List<Attribute> ads = new ArrayList<>();
            NodeList adNodes = ocd.getElementsByTagNameNS("*", "AD");
            for (int j = 0; j < adNodes.getLength(); j++) {
                Element ad = (Element) adNodes.item(j);
                List<String> options = new ArrayList<>();
                NodeList opts = ad.getElementsByTagNameNS("*", "Option");
                for (int k = 0; k < opts.getLength(); k++) {
                    options.add(((Element) opts.item(k)).getAttribute("value"));
                }
                String card = ad.getAttribute("cardinality");
                ads.add(new Attribute(ad.getAttribute("id"), ad.getAttribute("type"),
                        card.isEmpty() ? 0 : Integer.parseInt(card), attribute(ad, "min"),
                        attribute(ad, "max"), attribute(ad, "default"), options));
            }
            ocds.put(ocd.getAttribute("id"), ads);
        }
        List<Definition> out = new ArrayList<>();
        NodeList designates = doc.getElementsByTagNameNS("*", "Designate");
        for (int i = 0; i < designates.getLength(); i++) {
            Element des = (Element) designates.item(i);
            String factoryPid = attribute(des, "factoryPid");
            String pid = factoryPid != null ? factoryPid : attribute(des, "pid");
            Element object = (Element) des.getElementsByTagNameNS("*", "Object").item(0);
            List<Attribute> ads = ocds.get(object.getAttribute("ocdref"));
            assertTrue(ads != null, bundle + ": " + pid + " designates an unknown OCD");
            out.add(new Definition(pid, factoryPid != null, bundle, ads));
        }
        return out;
    }

    private static String attribute(Element e, String name) {
        return e.hasAttribute(name) ? e.getAttribute(name) : null;
    }

    // ---------------------------------------------------------------- the guide

    /** The configuration sections of a guide and the first table of each. */
    static Map<String, Table> tables(String text) {
        String[] lines = text.split("\n", -1);
        Map<String, Table> out = new TreeMap<>();
        for (int i = 0; i < lines.length; i++) {
            Matcher m = SECTION.matcher(lines[i]);
            if (!m.matches()) {
                continue;
            }
            int line = i + 1;
            Map<String, List<String>> rows = new LinkedHashMap<>();
            int j = i + 1;
            while (j < lines.length && !lines[j].startsWith("|")
                    && !HEADING.matcher(lines[j]).find()) {
                j++;
            }
            // the header and the separator, then the rows up to the first line that is not one
            for (int k = j + 2; j < lines.length && lines[j].startsWith("|") && k < lines.length
                    && lines[k].startsWith("|"); k++) {
                List<String> cells = cells(lines[k]);
                rows.put(cells.get(0).replace("`", ""), cells);
            }
            out.put(m.group(1), new Table(m.group(1), m.group(2) != null, line, rows));
        }
        return out;
    }

    /** The cells of a table row, split at the bars that are not escaped. */
    static List<String> cells(String row) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        String inner = row.trim();
        inner = inner.substring(1, inner.endsWith("|") && !inner.endsWith("\\|")
                ? inner.length() - 1 : inner.length());
        for (int i = 0; i < inner.length(); i++) {
            char c = inner.charAt(i);
            if (c == '\\' && i + 1 < inner.length() && inner.charAt(i + 1) == '|') {
                cur.append('|');
                i++;
            } else if (c == '|') {
                out.add(cur.toString().trim());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString().trim());
        return out;
    }

    private static boolean hasLine(String text, String a, String b) {
        Pattern word = Pattern.compile("(?<![\\w.])" + Pattern.quote(b) + "(?![\\w.])");
        for (String line : text.split("\n")) {
            if (line.contains(a) && word.matcher(line).find()) {
                return true;
            }
        }
        return false;
    }

    /** The public static final fields of a type: its documented constants. */
    private static List<Field> constants(Class<?> type) {
        List<Field> out = new ArrayList<>();
        for (Field f : type.getFields()) {
            int m = f.getModifiers();
            if (Modifier.isStatic(m) && Modifier.isFinal(m)
                    && (f.getType() == String.class || f.getType() == int.class)) {
                out.add(f);
            }
        }
        return out;
    }

    /** The directory above the working directory that holds docs/ beside the parent pom. */
    static Path findRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("docs/README.md"))
                    && Files.isRegularFile(dir.resolve("pom.xml"))) {
                return dir;
            }
        }
        throw new IllegalStateException("no docs/ above " + Path.of("").toAbsolutePath());
    }
}
