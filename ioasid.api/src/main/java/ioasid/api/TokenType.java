package ioasid.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The kind of owner token a set carries (rule 63). A token is unique within its type (decision
 * D8); tokens are compared with {@code equals}.
 */
@ProviderType
public enum TokenType {
    /** An arbitrary value, or none: a {@code null} token makes an anonymous set. */
    NONE,
    /** A process address space; the token is mandatory. */
    MM
}
