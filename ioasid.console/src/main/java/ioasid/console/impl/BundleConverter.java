package ioasid.console.impl;

import org.apache.felix.service.command.Converter;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

/**
 * Lets Gogo's bundle commands ({@code start 12}, {@code stop ioasid.backend.vtd}) take a bundle
 * by ID or symbolic name, as Gogo's own shells do; the console replaces them.
 */
@Component(service = Converter.class, property = Converter.CONVERTER_CLASSES
        + "=org.osgi.framework.Bundle")
public final class BundleConverter implements Converter {
    private final BundleContext context;

    @Activate
    public BundleConverter(BundleContext context) {
        this.context = context;
    }

    @Override
    public Object convert(Class<?> desiredType, Object in) {
        if (desiredType != Bundle.class) {
            return null;
        }
        if (in instanceof Number) {
            return context.getBundle(((Number) in).longValue());
        }
        if (in instanceof CharSequence) {
            String text = in.toString().trim();
            try {
                return context.getBundle(Long.parseLong(text));
            } catch (NumberFormatException e) {
                for (Bundle b : context.getBundles()) {
                    if (text.equals(b.getSymbolicName())) {
                        return b;
                    }
                }
            }
        }
        return null;
    }

    @Override
    public CharSequence format(Object target, int level, Converter escape) {
        if (!(target instanceof Bundle)) {
            return null;
        }
        Bundle b = (Bundle) target;
        return b.getSymbolicName() + " " + b.getVersion() + " [" + b.getBundleId() + "]";
    }
}
