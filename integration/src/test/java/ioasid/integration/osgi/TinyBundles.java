package ioasid.integration.osgi;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
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
        Class<?> activator = ioasid.integration.osgi.tiny.ListenerActivator.class;
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", "test.listener." + name);
        a.putValue("Bundle-Version", "1.0.0");
        a.putValue("Bundle-Activator", activator.getName());
        a.putValue("Import-Package", "ioasid.api.spi;version=\"[1.0,2)\",org.osgi.framework");
        a.putValue("Listener-Name", name);
        a.putValue("Listener-Ranking", Integer.toString(ranking));
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
