package ioasid.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * One allocated IOASID (decision D3). Operations that take a handle act on it directly, without a
 * lookup. A handle stays valid until its ID is reclaimed; after that its state is
 * {@link IoasidState#FREE} and every operation on it fails, even if the same number is allocated
 * again (that allocation gets a new handle).
 *
 * <p>The getters read the current state without locking.
 */
@ProviderType
public interface IoasidHandle {
    /** The system-wide ID. */
    int id();

    /** The set the ID was allocated in. */
    IoasidSet set();

    IoasidState state();

    /** The private data, or {@code null}. */
    Object privateData();

    /** The set-private ID, or {@link Ioasid#INVALID} when none is attached. */
    int spid();

    /** References held, the allocation reference included until the ID is freed. */
    int refCount();

    /**
     * Whether the ID was revoked because the last allocator of its ID space left while it was
     * outstanding (decision D7).
     */
    boolean revoked();
}
