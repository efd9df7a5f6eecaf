package ioasid.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidService;

/** The packaged bundles carry the headers the platform depends on. */
class BundleManifestIT {

    private static JarFile bundleOf(String resource) throws Exception {
        var url = BundleManifestIT.class.getClassLoader().getResource(resource);
        assertNotNull(url, resource);
        assertEquals("jar", url.getProtocol(), "tests must run against the packaged bundle: " + url);
        String path = url.getPath();
        return new JarFile(new File(new java.net.URI(path.substring(0, path.indexOf("!/")))));
    }

    private static Set<String> clauses(String header) {
        Set<String> out = new TreeSet<>();
        // split on commas outside quotes
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (char c : header.toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
            }
            if (c == ',' && !quoted) {
                out.add(cur.toString().trim());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString().trim());
        return out;
    }

    @Test
    @DisplayName("ioasid.api exports its packages at their versions: 1.2.0 for the IOMMU API and "
            + "for the API and its DTOs (set migration), 1.1.0 for the IOMMU DTOs and SPI, 1.0.0 "
            + "for the rest (the remote host service among them)")
    void apiExports() throws Exception {
        Map<String, String> versions = Map.of("ioasid.api", "1.2.0", "ioasid.api.dto", "1.3.0",
                "ioasid.api.spi", "1.0.0", "ioasid.api.iommu", "1.2.0",
                "ioasid.api.iommu.dto", "1.1.0", "ioasid.api.iommu.spi", "1.1.0",
                "ioasid.api.iommufd", "1.0.0",
                // the host service for guests in other frameworks (issue 17, remote)
                "ioasid.api.remote", "1.1.0");
        try (JarFile jar = bundleOf("ioasid/api/IoasidService.class")) {
            Attributes m = jar.getManifest().getMainAttributes();
            assertEquals("ioasid.api", m.getValue("Bundle-SymbolicName"));
            Set<String> exported = new TreeSet<>();
            for (String c : clauses(m.getValue("Export-Package"))) {
                String pkg = c.split(";")[0];
                exported.add(pkg);
                assertTrue(c.contains("version=\"" + versions.get(pkg) + "\""), c);
            }
            assertEquals(versions.keySet(), exported);
        }
    }

    @Test
    @DisplayName("ioasid.core exports nothing, imports the API as a provider, carries DS and Metatype")
    void coreIsPrivate() throws Exception {
        try (JarFile jar = bundleOf("ioasid/core/impl/IoasidCore.class")) {
            Attributes m = jar.getManifest().getMainAttributes();
            assertEquals("ioasid.core", m.getValue("Bundle-SymbolicName"));
            assertNull(m.getValue("Export-Package"));
            String imports = m.getValue("Import-Package");
            assertTrue(imports.contains("ioasid.api;version=\"[1.2,1.3)\""),
                    "provider import range: " + imports);
            Set<String> components = clauses(m.getValue("Service-Component"));
            assertEquals(Set.of("OSGI-INF/ioasid.core.impl.IoasidCore.xml",
                    "OSGI-INF/ioasid.core.impl.OrderedWorkQueue.xml",
                    "OSGI-INF/ioasid.core.iommu.IommuCore.xml",
                    "OSGI-INF/ioasid.core.iommufd.IommufdCore.xml",
                    "OSGI-INF/ioasid.core.impl.HostIoasidSpace.xml",
                    "OSGI-INF/ioasid.core.config.ConfigurationChecker.xml"), components);
            for (String c : components) {
                assertNotNull(jar.getEntry(c), c);
            }
            assertNotNull(jar.getEntry("OSGI-INF/metatype/ioasid.core.impl.IoasidCore$Config.xml"));
            String xml = new String(jar.getInputStream(
                    jar.getEntry("OSGI-INF/ioasid.core.impl.IoasidCore.xml")).readAllBytes());
            assertTrue(xml.contains("interface=\"ioasid.api.spi.IoasidAllocator\""), xml);
            assertTrue(xml.contains("policy=\"dynamic\"") && xml.contains("updated=\"updatedAllocator\""),
                    "ranked whiteboards by bind/updated/unbind methods: " + xml);
            assertTrue(m.getValue("Require-Capability").contains("osgi.component"));
        }
    }

    @Test
    @DisplayName("manifests are reproducible: no build timestamp or tool headers")
    void reproducible() throws Exception {
        for (String r : new String[] {"ioasid/api/IoasidService.class",
                "ioasid/core/impl/IoasidCore.class"}) {
            try (JarFile jar = bundleOf(r)) {
                Attributes m = jar.getManifest().getMainAttributes();
                assertNull(m.getValue("Bnd-LastModified"));
                assertNull(m.getValue("Created-By"));
                assertNull(m.getValue("Tool"));
            }
        }
        assertNotNull(IoasidService.class);
        assertTrue(Arrays.asList(URISyntaxException.class.getInterfaces()).isEmpty());
    }

    @Test
    @DisplayName("no bundle links record methods through java.lang.runtime.ObjectMethods, whose "
            + "method-handle caches pin the last record's class loader on Java 17 (JDK-8078641)")
    void noGeneratedRecordMethods() throws Exception {
        byte[] bootstrap = "java/lang/runtime/ObjectMethods".getBytes(StandardCharsets.US_ASCII);
        List<String> linking = new ArrayList<>();
        for (String resource : List.of("ioasid/api/IoasidService.class",
                "ioasid/core/impl/IoasidCore.class", "ioasid/shell/impl/Shell.class",
                "ioasid/backend/smmuv3/impl/Smmuv3Backend.class",
                "ioasid/backend/vtd/impl/VtdBackend.class",
                "ioasid/backend/virtio/impl/VirtioIommuBackend.class")) {
            try (JarFile jar = bundleOf(resource)) {
                for (JarEntry e : java.util.Collections.list(jar.entries())) {
                    if (e.getName().endsWith(".class")) {
                        byte[] bytes;
                        try (InputStream in = jar.getInputStream(e)) {
                            bytes = in.readAllBytes();
                        }
                        if (indexOf(bytes, bootstrap) >= 0) {
                            linking.add(jar.getName().replaceAll(".*/", "") + "!" + e.getName());
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), linking, "records must write out equals, hashCode and toString");
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
