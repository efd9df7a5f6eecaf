package ioasid.remote.impl;

import java.util.Arrays;

/* The guest's console command remote:status (a Gogo command by service properties). */
public final class GuestCommands {
    private final GuestLink link;
    private final GuestSpace space;

    GuestCommands(GuestLink link, GuestSpace space) {
        this.link = link;
        this.space = space;
    }

    /** The connection to the host, the PASIDs held there and those lost. */
    public String status() {
        return link.status() + "\nheld: " + Arrays.toString(space.heldSpids()) + "\nlost: "
                + space.lost().keySet();
    }
}
