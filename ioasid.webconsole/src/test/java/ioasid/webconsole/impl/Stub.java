package ioasid.webconsole.impl;

import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.function.Function;

/** A service interface answering the named methods from a map, and failing on any other. */
final class Stub {
    private Stub() {
    }

    static <T> T of(Class<T> type, Map<String, Function<Object[], Object>> answers) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                (proxy, m, args) -> {
                    Function<Object[], Object> a = answers.get(m.getName());
                    if (a == null) {
                        throw new UnsupportedOperationException(m.getName());
                    }
                    return a.apply(args);
                }));
    }
}
