package ioasid.health.impl;

import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.apache.felix.hc.api.Result;
import org.apache.felix.hc.api.ResultLog;

/** Fakes of the services and configurations the checks read. */
final class Fakes {
    private Fakes() {
    }

    /**
     * An implementation of an interface whose methods answer from the map by name; any other
     * call fails the test.
     */
    static <T> T service(Class<T> type, Map<String, Function<Object[], Object>> answers) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                (proxy, method, args) -> {
                    Function<Object[], Object> a = answers.get(method.getName());
                    if (a == null) {
                        if (method.getName().equals("toString")) {
                            return "fake " + type.getSimpleName();
                        }
                        throw new UnsupportedOperationException(method.getName());
                    }
                    return a.apply(args);
                }));
    }

    /** A component property type with its defaults, some overridden (keys are method names). */
    static <A> A config(Class<A> type, Object... overrides) {
        Map<String, Object> values = new HashMap<>();
        for (int i = 0; i < overrides.length; i += 2) {
            values.put((String) overrides[i], overrides[i + 1]);
        }
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                (proxy, method, args) -> values.containsKey(method.getName())
                        ? values.get(method.getName()) : method.getDefaultValue()));
    }

    /** The properties of a configuration the platform's checker refused. */
    static Map<String, Object> refused(String problem) {
        Map<String, Object> props = new HashMap<>();
        props.put("ioasid.config.problem", problem);
        props.put("felix.fileinstall.filename", "file:/nowhere/deploy/x.config");
        return props;
    }

    static List<String> lines(Result r) {
        return entries(r).stream().map(ResultLog.Entry::getMessage).collect(Collectors.toList());
    }

    static List<ResultLog.Entry> entries(Result r) {
        List<ResultLog.Entry> out = new java.util.ArrayList<>();
        r.iterator().forEachRemaining(out::add);
        return out;
    }

    static String text(Result r) {
        return r.getStatus() + " " + String.join(" | ", lines(r));
    }

    static <T> T[] array(T... values) {
        return Arrays.copyOf(values, values.length);
    }
}
