package ioasid.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class ComponentConfigTest {
    enum Mode { LAZY, STRICT }

    @interface Config {
        String ioasid_iommu_name() default "dmar0";

        int pasid$_$quota() default 7;

        String[] devices() default {};

        boolean caching__mode() default false;

        Mode mode() default Mode.LAZY;

        long size$$() default 1;
    }

    @Test
    void derivesPropertyNamesAsDsDoes() {
        assertEquals("ioasid.iommu.name", ComponentConfig.propertyName("ioasid_iommu_name"));
        assertEquals("pasid-quota", ComponentConfig.propertyName("pasid$_$quota"));
        assertEquals("caching_mode", ComponentConfig.propertyName("caching__mode"));
        assertEquals("size$", ComponentConfig.propertyName("size$$"));
        assertEquals("name", ComponentConfig.propertyName("$name"));
    }

    @Test
    void defaultsWhenAbsent() {
        Config c = ComponentConfig.of(Config.class, Map.of());
        assertEquals("dmar0", c.ioasid_iommu_name());
        assertEquals(7, c.pasid$_$quota());
        assertArrayEquals(new String[0], c.devices());
        assertEquals(Mode.LAZY, c.mode());
        assertEquals(Config.class, c.annotationType());
    }

    @Test
    void findsByPropertyOrMethodNameAndConverts() {
        Config c = ComponentConfig.of(Config.class, Map.of("ioasid.iommu.name", "dmar1",
                "pasid-quota", "12", "devices", "0000:00:01.0", "caching_mode", "true",
                "mode", "STRICT", "size$$", 5));
        assertEquals("dmar1", c.ioasid_iommu_name());
        assertEquals(12, c.pasid$_$quota());
        assertArrayEquals(new String[] {"0000:00:01.0"}, c.devices());
        assertTrue(c.caching__mode());
        assertEquals(Mode.STRICT, c.mode());
        assertEquals(5L, c.size$$());

        Config list = ComponentConfig.of(Config.class, Map.of("devices", List.of("a", "b")));
        assertArrayEquals(new String[] {"a", "b"}, list.devices());
    }

    @Test
    void aValueThatCannotBeConvertedNamesTheProperty() {
        Config c = ComponentConfig.of(Config.class, Map.of("pasid-quota", "sixteen"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                c::pasid$_$quota);
        assertTrue(e.getMessage().startsWith("pasid-quota=sixteen"), e.getMessage());
    }
}
