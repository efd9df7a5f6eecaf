package ioasid.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.core.config.MetatypeDefinitions.Attribute;
import ioasid.core.config.MetatypeDefinitions.Definition;

/** Configuration values held against Metatype definitions as bnd writes them. */
class ConfigurationCheckerTest {
    private static final String XML = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<metatype:MetaData xmlns:metatype=\"http://www.osgi.org/xmlns/metatype/v1.2.0\">"
            + "<OCD id=\"x.Config\" name=\"x\">"
            + "<AD id=\"ioasid.iommu.name\" type=\"String\" default=\"dmar0\"/>"
            + "<AD id=\"devices\" type=\"String\" cardinality=\"2147483647\" default=\"\"/>"
            + "<AD id=\"pss\" type=\"Integer\" min=\"0\" max=\"19\" default=\"19\"/>"
            + "<AD id=\"quota\" type=\"Integer\" min=\"0\" default=\"4\"/>"
            + "<AD id=\"vcmd\" type=\"Boolean\" default=\"false\"/>"
            + "<AD id=\"mode\" type=\"String\" default=\"strict\">"
            + "<Option label=\"Strict\" value=\"strict\"/><Option label=\"Lazy\" value=\"lazy\"/>"
            + "</AD></OCD>"
            + "<Designate factoryPid=\"ioasid.backend.x\"><Object ocdref=\"x.Config\"/></Designate>"
            + "</metatype:MetaData>";

    private static Definition definition() throws Exception {
        Map<String, Definition> out = new HashMap<>();
        MetatypeDefinitions.read(new ByteArrayInputStream(XML.getBytes(StandardCharsets.UTF_8)),
                out);
        return out.get("ioasid.backend.x");
    }

    private static String check(String key, Object value) throws Exception {
        Attribute ad = definition().attributes.get(key);
        return ConfigurationChecker.check(ad, value);
    }

    @Test
    @DisplayName("reads the definitions bnd generates: by factory PID, with types, ranges, options")
    void readsDefinitions() throws Exception {
        Definition d = definition();
        assertEquals(List.of("ioasid.iommu.name", "devices", "pss", "quota", "vcmd", "mode"),
                List.copyOf(d.attributes.keySet()));
        Attribute pss = d.attributes.get("pss");
        assertEquals("Integer", pss.type);
        assertEquals("0", pss.min);
        assertEquals("19", pss.max);
        assertEquals(List.of("strict", "lazy"), d.attributes.get("mode").options);
        assertEquals(Integer.MAX_VALUE, d.attributes.get("devices").cardinality);
    }

    @Test
    @DisplayName("a value that fits passes, whether typed or text")
    void fits() throws Exception {
        assertNull(check("pss", 19));
        assertNull(check("pss", "0"));
        assertNull(check("quota", 1_000_000));
        assertNull(check("vcmd", Boolean.TRUE));
        assertNull(check("vcmd", "FALSE"));
        assertNull(check("mode", "lazy"));
        assertNull(check("devices", new String[] {"a", "b"}));
        assertNull(check("devices", List.of("a")));
    }

    @Test
    @DisplayName("each misfit is named with its key, value and what was expected")
    void misfits() throws Exception {
        assertEquals("pss=99 is not in [0, 19]", check("pss", 99));
        assertEquals("pss=-1 is not in [0, 19]", check("pss", "-1"));
        assertEquals("pss=sixteen is not an Integer", check("pss", "sixteen"));
        assertEquals("quota=-5 is below its minimum 0", check("quota", -5));
        assertEquals("vcmd=yes is not true or false", check("vcmd", "yes"));
        assertEquals("mode=fast is not one of [strict, lazy]", check("mode", "fast"));
        assertEquals("ioasid.iommu.name=[a, b] has 2 values, not one",
                check("ioasid.iommu.name", new String[] {"a", "b"}));
    }
}
