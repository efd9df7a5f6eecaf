package ioasid.integration.osgi;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/** Builds small bundles at test time: a manifest and one class from the test class path. */
public final class TinyBundles {
    private TinyBundles() {
    }

    /** A bundle whose activator registers a listener with this name and ranking. */
    public static InputStream listener(String name, int ranking) throws IOException {
        return bundle(ioasid.integration.osgi.tiny.ListenerActivator.class,
                "test.listener." + name, "ioasid.api.spi;version=\"[1.0,2)\",org.osgi.framework",
                Map.of("Listener-Name", name, "Listener-Ranking", Integer.toString(ranking)));
    }

    /** A bundle of one activator class, with these imports and extra manifest headers. */
    public static InputStream bundle(Class<?> activator, String bsn, String imports,
            Map<String, String> headers) throws IOException {
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", bsn);
        a.putValue("Bundle-Version", "1.0.0");
        a.putValue("Bundle-Activator", activator.getName());
        a.putValue("Import-Package", imports);
        headers.forEach(a::putValue);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(bytes, m)) {
            String path = activator.getName().replace('.', '/') + ".class";
            jar.putNextEntry(new JarEntry(path));
            try (InputStream in = activator.getClassLoader().getResourceAsStream(path)) {
                in.transferTo(jar);
            }
            jar.closeEntry();
        }
        return new ByteArrayInputStream(bytes.toByteArray());
    }
}
