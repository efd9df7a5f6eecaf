package ioasid.api.spi;

import org.osgi.annotation.versioning.ProviderType;

/** What happened to an IOASID (rule 78). */
@ProviderType
public enum EventType {
    /** Allocated: FREE to IDLE. */
    ALLOC,
    /** Freed, or revoked: users must clear their context and put their references. */
    FREE,
    /** A SPID was attached. */
    BIND,
    /** A SPID is being detached; the event still carries it. */
    UNBIND
}
