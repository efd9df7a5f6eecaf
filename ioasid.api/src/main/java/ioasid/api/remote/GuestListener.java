package ioasid.api.remote;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * What a guest exports back to its host, so that the host can tell it at once of a change the
 * guest did not ask for; the guest gives its endpoint to {@link HostIoasidService#listen}.
 *
 * <p>A notice is a doorbell, not an order: it names the session it is for, and a guest ignores a
 * notice for any other session than its current one (a caller that does not know the session
 * cannot make the guest do anything). On a notice the guest asks the host again
 * ({@link HostIoasidService#held}, or a new session) and acts on what the host answers, so a
 * notice that was forged, repeated or overtaken by later changes does no harm. A notice that
 * cannot be delivered is not repeated: the guest learns the same at its next reconcile.
 *
 * <p>Calls come from the host's Remote Services provider on its own threads; they must return
 * quickly.
 */
@ConsumerType
public interface GuestListener {

    /**
     * The host took IDs away from the guest: its operator revoked them, or freed the guest's set.
     *
     * @param session the session the notice is for
     * @param spids the SPIDs taken, ascending
     * @param reason one line for the guest's log
     */
    void revoked(String session, int[] spids, String reason);

    /**
     * The host ended the session and will not open another one for now: its operator exported
     * the guest's set to another host (a migration) or released the guest.
     *
     * @param session the session the notice is for
     * @param reason one line for the guest's log, naming what the guest's operator should do
     */
    void ended(String session, String reason);
}
