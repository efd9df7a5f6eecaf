package ioasid.api;

import org.osgi.annotation.versioning.ProviderType;

/** The life cycle of an IOASID set (rule 65). */
@ProviderType
public enum SetState {
    /** IDs may be allocated in it. */
    ACTIVE,
    /** Freed while it still held IDs: it goes away with its last ID, nothing new is allocated. */
    FREE_PENDING,
    /** Gone; its quota went back to the system capacity (decision D9). */
    FREED
}
