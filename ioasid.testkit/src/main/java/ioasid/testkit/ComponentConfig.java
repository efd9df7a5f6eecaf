package ioasid.testkit;

import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;

/**
 * A component property type (a DS configuration annotation) built from properties, as SCR builds
 * it for a component's activate method: a property is found by the method's name or by the
 * property name DS derives from it ({@code ioasid_iommu_name} is {@code ioasid.iommu.name},
 * {@code pasid$_$quota} is {@code pasid-quota}); a missing one gives the method's default; a
 * value is converted to the method's return type (text to numbers, a single value to an array,
 * a collection to an array).
 */
public final class ComponentConfig {
    private ComponentConfig() {
    }

    public static <A> A of(Class<A> type, Map<String, ?> properties) {
        if (!type.isAnnotation()) {
            throw new IllegalArgumentException(type.getName() + " is not an annotation type");
        }
        Map<String, Object> values = new TreeMap<>(properties);
        Object proxy = Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                (self, method, args) -> {
                    switch (method.getName()) {
                        case "annotationType":
                            return type;
                        case "toString":
                            return type.getSimpleName() + values;
                        case "hashCode":
                            return System.identityHashCode(self);
                        case "equals":
                            return self == args[0];
                        default:
                            return value(method, values);
                    }
                });
        return type.cast(proxy);
    }

    private static Object value(Method method, Map<String, Object> values) {
        Object v = values.get(method.getName());
        if (v == null) {
            v = values.get(propertyName(method.getName()));
        }
        if (v == null) {
            return method.getDefaultValue();
        }
        try {
            return convert(v, method.getReturnType());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(propertyName(method.getName()) + "=" + v
                    + " cannot be read as " + method.getReturnType().getSimpleName(), e);
        }
    }

    /** The property name DS derives from a method name (OSGi Compendium 112.8.2.1). */
    public static String propertyName(String method) {
        StringBuilder b = new StringBuilder(method.length());
        for (int i = 0; i < method.length(); i++) {
            char c = method.charAt(i);
            boolean hasNext = i + 1 < method.length();
            if (c == '$' && hasNext && method.startsWith("_$", i + 1)) {
                b.append('-');
                i += 2;
            } else if (c == '$' && hasNext && method.charAt(i + 1) == '$') {
                b.append('$');
                i++;
            } else if (c == '$') {
                continue;
            } else if (c == '_' && hasNext && method.charAt(i + 1) == '_') {
                b.append('_');
                i++;
            } else if (c == '_') {
                b.append('.');
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static Object convert(Object v, Class<?> to) {
        if (to.isArray()) {
            Object[] items = v instanceof Collection ? ((Collection<?>) v).toArray()
                    : v.getClass().isArray() ? boxed(v) : new Object[] {v};
            Object out = Array.newInstance(to.getComponentType(), items.length);
            for (int i = 0; i < items.length; i++) {
                Array.set(out, i, convert(items[i], to.getComponentType()));
            }
            return out;
        }
        if (v.getClass().isArray() || v instanceof Collection) {
            Object[] items = v instanceof Collection ? ((Collection<?>) v).toArray() : boxed(v);
            return items.length == 0 ? null : convert(items[0], to);
        }
        return scalar(v, to);
    }

    private static Object[] boxed(Object array) {
        Object[] out = new Object[Array.getLength(array)];
        for (int i = 0; i < out.length; i++) {
            out[i] = Array.get(array, i);
        }
        return out;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object scalar(Object v, Class<?> to) {
        String text = v.toString().trim();
        if (to == String.class) {
            return v.toString();
        } else if (to == int.class || to == Integer.class) {
            return v instanceof Number ? ((Number) v).intValue() : Integer.valueOf(text);
        } else if (to == long.class || to == Long.class) {
            return v instanceof Number ? ((Number) v).longValue() : Long.valueOf(text);
        } else if (to == boolean.class || to == Boolean.class) {
            return v instanceof Boolean ? v : Boolean.valueOf(text);
        } else if (to == double.class || to == Double.class) {
            return v instanceof Number ? ((Number) v).doubleValue() : Double.valueOf(text);
        } else if (to == float.class || to == Float.class) {
            return v instanceof Number ? ((Number) v).floatValue() : Float.valueOf(text);
        } else if (to == short.class || to == Short.class) {
            return v instanceof Number ? ((Number) v).shortValue() : Short.valueOf(text);
        } else if (to == byte.class || to == Byte.class) {
            return v instanceof Number ? ((Number) v).byteValue() : Byte.valueOf(text);
        } else if (to == char.class || to == Character.class) {
            if (text.length() != 1) {
                throw new IllegalArgumentException("not one character");
            }
            return text.charAt(0);
        } else if (to.isEnum()) {
            return Enum.valueOf((Class<Enum>) to, text);
        }
        throw new IllegalArgumentException("unsupported type " + to.getName());
    }
}
