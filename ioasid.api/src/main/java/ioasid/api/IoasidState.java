package ioasid.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The life cycle of one IOASID (rule 85).
 *
 * <pre>
 *  FREE --alloc--&gt; IDLE &lt;--get/put--&gt; ACTIVE
 *                   |                    |
 *                   +-------free---------+--&gt; FREE_PENDING --last put--&gt; FREE
 * </pre>
 */
@ProviderType
public enum IoasidState {
    /** Not allocated; a handle in this state is stale. */
    FREE,
    /** Allocated, only the allocation reference is held. */
    IDLE,
    /** Allocated and users hold references besides the allocation reference. */
    ACTIVE,
    /** Freed while references remain; reclaimed when the last one is put. */
    FREE_PENDING
}
