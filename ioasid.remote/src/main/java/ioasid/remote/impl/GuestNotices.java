package ioasid.remote.impl;

import ioasid.api.remote.GuestListener;

/*
 * The guest's listener as its host calls it, exported through the Remote Service Admin. Public:
 * the provider calls its methods by reflection. Each call only rings the link's doorbell; the
 * link checks the session and asks the host itself (GuestLink rule 4).
 */
public final class GuestNotices implements GuestListener {
    private final GuestLink link;

    GuestNotices(GuestLink link) {
        this.link = link;
    }

    @Override
    public void revoked(String session, int[] spids, String reason) {
        link.notice(session, false, reason);
    }

    @Override
    public void ended(String session, String reason) {
        link.notice(session, true, reason);
    }
}
