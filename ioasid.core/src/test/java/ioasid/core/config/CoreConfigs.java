package ioasid.core.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.annotation.Annotation;
import java.lang.reflect.Proxy;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

import ioasid.api.iommu.spi.BackendConfigurations;
import ioasid.core.impl.IoasidCore;
import ioasid.core.iommu.IommuCore;

/** What SCR hands a core's DS constructor, built from properties and the bnd-made Metatype. */
public final class CoreConfigs {
    private CoreConfigs() {
    }

    /** Properties as FileInstall gives them for the file named. */
    public static Map<String, Object> fromFile(String file) {
        Map<String, Object> props = new HashMap<>();
        props.put(BackendConfigurations.FILE, file);
        return props;
    }

    /** The component's configuration type over the properties, SCR-style, defaults elsewhere. */
    public static <A extends Annotation> A config(Class<A> type, Map<String, Object> props) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                (proxy, method, args) -> {
                    if (method.getName().equals("annotationType")) {
                        return type;
                    }
                    Object v = props.get(method.getName().replace('_', '.'));
                    if (v == null) {
                        return method.getDefaultValue();
                    }
                    Class<?> r = method.getReturnType();
                    String text = v.toString();
                    if (r == int.class) {
                        return v instanceof Number ? ((Number) v).intValue()
                                : Integer.parseInt(text);
                    }
                    if (r == long.class) {
                        return v instanceof Number ? ((Number) v).longValue()
                                : Long.parseLong(text);
                    }
                    if (r == boolean.class) {
                        return Boolean.parseBoolean(text);
                    }
                    return text;
                }));
    }

    /** A context whose bundle holds the Metatype bnd generated for the cores' classes. */
    public static BundleContext context() {
        Bundle bundle = (Bundle) Proxy.newProxyInstance(Bundle.class.getClassLoader(),
                new Class<?>[] {Bundle.class}, (proxy, method, args) -> {
                    if (method.getName().equals("findEntries")) {
                        return Collections.enumeration(metatype());
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        return (BundleContext) Proxy.newProxyInstance(BundleContext.class.getClassLoader(),
                new Class<?>[] {BundleContext.class}, (proxy, method, args) -> {
                    if (method.getName().equals("getBundle") && args == null) {
                        return bundle;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }

    /**
     * The Metatype bnd writes for the two cores from their Config annotations. bnd puts it only
     * into the jar and the annotations are not kept at run time, so it is restated here;
     * ConfigFilesIT checks the real one in the runtime.
     */
    private static final Map<String, String> METATYPE = Map.of(
            IommuCore.PID, "<AD id=\"default.domain\" type=\"String\">"
                    + "<Option label=\"a\" value=\"auto\"/><Option label=\"s\" value=\"strict\"/>"
                    + "<Option label=\"p\" value=\"passthrough\"/></AD>"
                    + "<AD id=\"memory.encryption\" type=\"Boolean\"/>"
                    + "<AD id=\"pasid.quota\" type=\"Integer\" min=\"1\"/>",
            IoasidCore.PID, "<AD id=\"id.bits\" type=\"Integer\" min=\"1\" max=\"20\"/>"
                    + "<AD id=\"listener.stall.timeout.ms\" type=\"Long\" min=\"1\"/>");

    private static List<URL> metatype() {
        List<URL> out = new ArrayList<>();
        try {
            for (Map.Entry<String, String> e : METATYPE.entrySet()) {
                Path file = Files.createTempFile("metatype", ".xml");
                file.toFile().deleteOnExit();
                Files.writeString(file, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                        + "<metatype:MetaData xmlns:metatype="
                        + "\"http://www.osgi.org/xmlns/metatype/v1.2.0\"><OCD id=\"c\" name=\"c\">"
                        + e.getValue() + "</OCD><Designate pid=\"" + e.getKey()
                        + "\"><Object ocdref=\"c\"/></Designate></metatype:MetaData>");
                out.add(file.toUri().toURL());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
