package ioasid.testkit.osgi;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import ioasid.testkit.tiny.AllocatorActivator;
import ioasid.testkit.tiny.ListenerActivator;

/**
 * Builds small bundles at test time, to install with {@code BundleContext.installBundle(location,
 * stream)}: a manifest and one activator class, copied from the class path of the class given.
 * Stopping, updating or uninstalling such a bundle takes away what its activator registered, as
 * unplugging a real plug-in does.
 *
 * <p>The activator must be a single class file (lambdas are fine; nested and anonymous classes
 * are not copied) whose references the given imports cover.
 */
public final class TinyBundles {
    private static final String SPI_IMPORTS =
            "ioasid.api.spi;version=\"[1.0,2)\",org.osgi.framework";

    private TinyBundles() {
    }

    /**
     * A bundle whose activator registers an IOASID listener named {@code name}
     * ({@code ioasid.listener.name}) with this {@code service.ranking} (one of the {@code
     * IoasidListener.PRIORITY_*}), and writes every event it receives to the {@link Journal}:
     * {@code "name:TYPE id"}, {@code "name:TYPE* id"} for a replay.
     *
     * <p>It also registers a {@code java.util.function.IntConsumer} with the property
     * {@code listener.name=<name>} that changes the listener's ranking at runtime.
     */
    public static InputStream listener(String name, int ranking) throws IOException {
        return bundle(ListenerActivator.class, "ioasid.testkit.listener." + name, SPI_IMPORTS,
                Map.of("Listener-Name", name, "Listener-Ranking", Integer.toString(ranking)));
    }

    /**
     * A bundle whose activator registers a custom IOASID allocator named {@code name}
     * ({@code ioasid.allocator.name}) with this {@code service.ranking}: it hands out the lowest
     * free ID of the range asked, from a table of its own, and writes {@code "name:alloc N"} and
     * {@code "name:free N"} to the {@link Journal} when there is one. Its helpers are the string
     * {@code helpers}, so allocators built with equal helpers share one ID space (and an
     * allocator restarted after a revocation gets the IDs owed to it).
     */
    public static InputStream allocator(String name, int ranking, String helpers)
            throws IOException {
        return bundle(AllocatorActivator.class, "ioasid.testkit.allocator." + name,
                SPI_IMPORTS, Map.of("Allocator-Name", name, "Allocator-Ranking",
                        Integer.toString(ranking), "Allocator-Helpers", helpers));
    }

    /**
     * A bundle of one activator class, with this symbolic name (version 1.0.0), these
     * {@code Import-Package} clauses and extra manifest headers, which the activator can read
     * from its bundle's headers.
     */
    public static InputStream bundle(Class<?> activator, String symbolicName, String imports,
            Map<String, String> headers) throws IOException {
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", symbolicName);
        a.putValue("Bundle-Version", "1.0.0");
        a.putValue("Bundle-Activator", activator.getName());
        a.putValue("Import-Package", imports);
        headers.forEach(a::putValue);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(bytes, m)) {
            String path = activator.getName().replace('.', '/') + ".class";
            jar.putNextEntry(new JarEntry(path));
            try (InputStream in = activator.getClassLoader().getResourceAsStream(path)) {
                if (in == null) {
                    throw new IOException("cannot read " + path + " from "
                            + activator.getClassLoader());
                }
                in.transferTo(jar);
            }
            jar.closeEntry();
        }
        return new ByteArrayInputStream(bytes.toByteArray());
    }
}
