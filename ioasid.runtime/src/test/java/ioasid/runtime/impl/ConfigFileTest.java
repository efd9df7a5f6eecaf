package ioasid.runtime.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Hashtable;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The .config format, read strictly: what parses, and where a mistake is. */
class ConfigFileTest {
    private static String error(String text) {
        return assertThrows(ConfigFile.SyntaxError.class, () -> ConfigFile.parse(text))
                .getMessage();
    }

    @Test
    @DisplayName("the files the runtime ships parse, with their types")
    void shippedFiles() throws Exception {
        for (String f : List.of("ioasid.backend.smmuv3-smmu0.config",
                "ioasid.backend.vtd-dmar0.config", "ioasid.backend.virtio-viommu0.config")) {
            try (InputStream in = getClass().getResourceAsStream("/deploy/" + f)) {
                Hashtable<String, Object> p = ConfigFile.parse(
                        new String(in.readAllBytes(), StandardCharsets.UTF_8));
                assertEquals(String.class, p.get("ioasid.iommu.name").getClass(), f);
                assertEquals(String[].class, p.get("devices").getClass(), f);
            }
        }
    }

    @Test
    @DisplayName("types, lists, escapes, comments, continuations and a trailing comma")
    void values() throws Exception {
        Hashtable<String, Object> p = ConfigFile.parse("# a comment\n"
                + "name=\"dmar\\\"9\\u0021\"\n"
                + "  pss = I\"7\"\n"
                + "vcmd=B\"true\"\n"
                + "quota=L\"4096\"\n"
                + "devices=[ \\\n  \"a;sid=0x10\", \\\n  \"b\", \\\n  ]\n"
                + "ids=I[\"1\",\"2\"]\n"
                + "list=(\"x\")\r\n");
        assertEquals("dmar\"9!", p.get("name"));
        assertEquals(7, p.get("pss"));
        assertEquals(Boolean.TRUE, p.get("vcmd"));
        assertEquals(4096L, p.get("quota"));
        assertArrayEquals(new String[] {"a;sid=0x10", "b"}, (String[]) p.get("devices"));
        assertArrayEquals(new Integer[] {1, 2}, (Integer[]) p.get("ids"));
        assertEquals(List.of("x"), p.get("list"));
        assertEquals(0, ConfigFile.parse("").size());
        assertEquals(0, ConfigFile.parse("# nothing\n\n").size());
    }

    @Test
    @DisplayName("a mistake is named with its line and column")
    void mistakes() {
        assertEquals("line 1, column 11: expected a quoted value, found 's'",
                error("ssid.bits=sixteen\n"));
        assertEquals("line 2, column 4: expected '=' after the key 'pss', found ':'",
                error("a=\"1\"\npss: I\"7\"\n"));
        assertEquals("line 1, column 6: the quoted value has no closing quote",
                error("name=\"smmu0\nx=\"1\"\n"));
        assertEquals("line 1, column 12: I\"sixteen\" is not a number of type I",
                error("ssid.bits=I\"sixteen\"\n"));
        assertEquals("line 1, column 7: B\"yes\" is not true or false", error("vcmd=B\"yes\""));
        assertEquals("line 1, column 14: expected ',' or ']' in the list, found '\"'",
                error("devices=[\"a\" \"b\"]"));
        assertEquals("line 1, column 9: expected the end of the line after the value of 'name', "
                + "found 'x'", error("name=\"a\"x"));
        assertEquals("line 2, column 1: 'name' is set twice", error("name=\"a\"\nname=\"b\""));
        assertEquals("line 1, column 1: expected a key, found '='", error("=\"a\""));
    }

    @Test
    @DisplayName("the shipped files are found at all")
    void resources() throws IOException {
        try (InputStream in = getClass().getResourceAsStream(
                "/deploy/ioasid.backend.vtd-dmar0.config")) {
            assertEquals(true, in != null);
        }
    }
}
