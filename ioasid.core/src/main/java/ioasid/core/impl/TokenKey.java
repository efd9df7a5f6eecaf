package ioasid.core.impl;

import java.util.Objects;

import ioasid.api.TokenType;

/**
 * A set's token with its type: the key of sets and of the listeners waiting for them. The methods
 * are written out: a record's generated ones link through {@code java.lang.runtime.ObjectMethods},
 * whose shared method handles keep the last record type they were adapted to on Java 17
 * (JDK-8078641), which would pin this bundle's class loader after an uninstall.
 */
record TokenKey(TokenType type, Object token) {
    @Override
    public boolean equals(Object o) {
        return o instanceof TokenKey k && k.type == type && Objects.equals(k.token, token);
    }

    @Override
    public int hashCode() {
        return 31 * Objects.hashCode(type) + Objects.hashCode(token);
    }

    @Override
    public String toString() {
        return type + ":" + token;
    }
}
