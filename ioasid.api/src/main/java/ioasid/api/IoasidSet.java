package ioasid.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A group of IOASIDs with an owner token, a quota charged to the system capacity, a private
 * namespace of SPIDs and its own listeners (rules 62-65, 73-75).
 */
@ProviderType
public interface IoasidSet {
    /** The set's ID, unique among live sets. */
    int id();

    TokenType tokenType();

    /** The owner token, {@code null} for an anonymous set. */
    Object token();

    /** How many IDs this set may hold at once. */
    int quota();

    /** How many IDs this set holds now, FREE_PENDING ones included (rule 88). */
    int size();

    SetState state();
}
