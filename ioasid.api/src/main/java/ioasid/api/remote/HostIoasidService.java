package ioasid.api.remote;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A host's IOASID service for guests in other frameworks, exported over OSGi Remote Services.
 *
 * <p>The host keeps one set per guest it knows, created at the guest's first session with the
 * quota the host configures, and owned by the host (the host's operator sees it in
 * {@code ioasid:sets}, token {@code guest:<name>}, and cannot free it by mistake). A guest:
 * <ol>
 * <li>opens a session with its name and its secret ({@link #open}) and keeps the token;
 * <li>allocates ({@link #alloc}) and frees ({@link #free}) in its set, by SPID: the ID the guest
 *     sees, equal to the host ID when first allocated;
 * <li>calls {@link #ping} to learn that the host is still there and still the same one
 *     (its epoch);
 * <li>after losing the host, opens a new session and calls {@link #claim} with every SPID it
 *     still holds: the host keeps or takes them back where it can, reports the others as lost,
 *     and frees what the guest no longer holds.
 * </ol>
 *
 * <p>A guest that exports a {@link GuestListener} and gives its endpoint to {@link #listen}
 * learns at once when the host's operator revokes its IDs or moves its set to another host; one
 * that does not learns it at its next reconcile.
 *
 * <p>Migration: the host's operator exports a guest's set (its SPIDs and states) and imports it
 * on another host. From the export on, every call of the guest's session but {@link #close},
 * and every new session, gets {@code EBUSY} with a message that names the move; the guest's
 * operator points the guest at the new host, where {@link #claim} keeps every SPID the guest
 * holds, whatever host IDs they have there.
 *
 * <p>Access: {@link #open} is the only call that takes the secret; every other call takes the
 * session token it returned. A caller without a right secret gets {@code EPERM} and the same
 * message whatever was wrong, so it learns nothing (not whether the guest exists). A token the
 * host does not know (never issued, ended by a newer session of the guest or by {@link #close},
 * or issued before the host restarted) gets {@code EPERM} as well: the guest opens a new
 * session. One guest has at most one session; opening a new one ends the previous one.
 *
 * <p>Errors are {@link ioasid.api.IoasidException}s with an {@link ioasid.api.Errno}; they
 * reach the guest as thrown and leave the host's state unchanged. A call that cannot reach the
 * host fails with the remote provider's {@code org.osgi.framework.ServiceException} instead.
 */
@ProviderType
public interface HostIoasidService {

    /**
     * Opens a session for a guest, ending any earlier session of that guest (its IDs stay). The
     * guest's set is created on its first session.
     *
     * @param guest the guest's name, as the host's configuration lists it
     * @param secret the guest's secret, which the host keeps only as a SHA-256
     * @return the session, the host's epoch, and the guest's set
     * @throws ioasid.api.IoasidException EPERM for an unknown guest or a wrong secret (one
     *     message for both); EBUSY when the host's operator exported the guest's set to another
     *     host (the message says where to go); ENOSPC when the guest's set cannot be created
     *     (quota beyond the host's capacity)
     */
    SessionDTO open(String guest, String secret);

    /**
     * Tells whether the session is still valid, at the cost of one round trip.
     *
     * @return the host's epoch
     * @throws ioasid.api.IoasidException EPERM for a session the host does not know
     */
    long ping(String session);

    /**
     * Allocates the lowest free host ID in {@code [min, max]} in the guest's set and gives it
     * a SPID equal to itself.
     *
     * @return the SPID, which is also the host ID
     * @throws ioasid.api.IoasidException EPERM for an unknown session; EINVAL for a bad range;
     *     ENOSPC when the range or the guest's quota is exhausted
     */
    int alloc(String session, int min, int max);

    /**
     * Frees the ID the guest knows by this SPID.
     *
     * @throws ioasid.api.IoasidException EPERM for an unknown session; ENOENT when the guest
     *     holds no ID with this SPID
     */
    void free(String session, int spid);

    /**
     * @return the SPIDs the guest holds on the host, ascending
     * @throws ioasid.api.IoasidException EPERM for an unknown session
     */
    int[] held(String session);

    /**
     * Makes the guest's set hold exactly these SPIDs, where it can: a SPID the set holds stays;
     * one it does not hold is allocated again at the host ID equal to the SPID if that ID is
     * free (a host that restarted forgot the guest's IDs); one whose host ID another guest now
     * holds is lost, never given twice. IDs of the set that the guest does not list are freed.
     *
     * @param spids every SPID the guest still uses, in any order, no repeats
     * @return which SPIDs were claimed, lost and released
     * @throws ioasid.api.IoasidException EPERM for an unknown session; EINVAL for a null list, a
     *     repeated SPID or one outside the ID space, with nothing changed
     */
    ClaimDTO claim(String session, int[] spids);

    /**
     * Tells the host where the guest's {@link GuestListener} is, for the rest of the session;
     * a later call replaces it. The host imports it through its Remote Services provider and
     * sends it a notice whenever it takes IDs away from the guest or ends the session.
     *
     * @param endpoint the listener's endpoint ID as the guest's provider exported it, such as
     *     {@code tcp://127.0.0.1:40123}
     * @throws ioasid.api.IoasidException EPERM for an unknown session; EINVAL for an endpoint
     *     that is not {@code tcp://host:port}, or whose host the host's configuration does not
     *     allow for listeners (it names the setting)
     * @since 1.1
     */
    void listen(String session, String endpoint);

    /**
     * Ends the session; the guest's IDs stay in its set for a later session to claim.
     *
     * @throws ioasid.api.IoasidException EPERM for an unknown session
     */
    void close(String session);
}
