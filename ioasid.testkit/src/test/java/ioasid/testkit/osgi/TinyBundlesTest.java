package ioasid.testkit.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;

import org.junit.jupiter.api.Test;

class TinyBundlesTest {
    private static List<String> entries(JarInputStream jar) throws Exception {
        List<String> names = new ArrayList<>();
        for (JarEntry e = jar.getNextJarEntry(); e != null; e = jar.getNextJarEntry()) {
            names.add(e.getName());
        }
        return names;
    }

    @Test
    void aListenerBundleIsItsActivatorAndAManifestNamingIt() throws Exception {
        try (InputStream in = TinyBundles.listener("cpu", 300);
                JarInputStream jar = new JarInputStream(in)) {
            Attributes a = jar.getManifest().getMainAttributes();
            assertEquals("ioasid.testkit.listener.cpu", a.getValue("Bundle-SymbolicName"));
            assertEquals("ioasid.testkit.tiny.ListenerActivator", a.getValue("Bundle-Activator"));
            assertEquals("cpu", a.getValue("Listener-Name"));
            assertEquals("300", a.getValue("Listener-Ranking"));
            assertEquals("ioasid.api.spi;version=\"[1.0,2)\",org.osgi.framework",
                    a.getValue("Import-Package"));
            assertEquals(List.of("ioasid/testkit/tiny/ListenerActivator.class"), entries(jar));
        }
    }

    @Test
    void anAllocatorBundleCarriesItsNameRankingAndHelpers() throws Exception {
        try (JarInputStream jar = new JarInputStream(TinyBundles.allocator("a", 10, "space"))) {
            Attributes m = jar.getManifest().getMainAttributes();
            assertEquals("ioasid.testkit.tiny.AllocatorActivator", m.getValue("Bundle-Activator"));
            assertEquals(Map.of("Allocator-Name", "a", "Allocator-Ranking", "10",
                    "Allocator-Helpers", "space"), Map.of("Allocator-Name",
                            m.getValue("Allocator-Name"), "Allocator-Ranking",
                            m.getValue("Allocator-Ranking"), "Allocator-Helpers",
                            m.getValue("Allocator-Helpers")));
            assertEquals(List.of("ioasid/testkit/tiny/AllocatorActivator.class"), entries(jar));
        }
    }

    @Test
    void anyActivatorOfTheClassPath() throws Exception {
        try (JarInputStream jar = new JarInputStream(TinyBundles.bundle(TinyBundlesTest.class,
                "x.y", "org.osgi.framework", Map.of("X-Extra", "1")))) {
            Attributes m = jar.getManifest().getMainAttributes();
            assertEquals("2", m.getValue("Bundle-ManifestVersion"));
            assertEquals("1.0.0", m.getValue("Bundle-Version"));
            assertEquals("1", m.getValue("X-Extra"));
            assertEquals(List.of("ioasid/testkit/osgi/TinyBundlesTest.class"), entries(jar));
        }
    }
}
