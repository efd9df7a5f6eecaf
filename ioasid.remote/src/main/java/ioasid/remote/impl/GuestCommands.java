package ioasid.remote.impl;

import java.util.Arrays;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;

/* The guest's console commands remote:status, latency and connect (Gogo commands by properties). */
public final class GuestCommands {
    private final GuestLink link;
    private final GuestSpace space;
    private final GuestPointer pointer;

    GuestCommands(GuestLink link, GuestSpace space, GuestPointer pointer) {
        this.link = link;
        this.space = space;
        this.pointer = pointer;
    }

    /**
     * Points this guest at another host (the last step of a move, D38): changes the host in its
     * configuration file, and the guest follows in place, keeping every PASID.
     */
    public String connect(String target) throws java.io.IOException {
        return "guest: " + pointer.pointAt(target);
    }

    /** The connection to the host, the PASIDs held there and those lost. */
    public String status() {
        return link.status() + "\nheld: " + Arrays.toString(space.heldSpids()) + "\nlost: "
                + space.lost().keySet();
    }

    /**
     * Times {@code n} alloc+free round trips to the host (after as many again to warm up), in
     * the guest's set, and prints the median and the 99th percentile in microseconds.
     */
    public String latency(int n) {
        if (n < 1 || n > 1_000_000) {
            throw new IoasidException(Errno.EINVAL, "count " + n + " not in [1, 1000000]");
        }
        long[] t = new long[n];
        for (int i = -n; i < n; i++) {
            String s = link.session();
            long start = System.nanoTime();
            int id = link.alloc(s, 1, Ioasid.MAX_ID);
            link.free(id);
            if (i >= 0) {
                t[i] = System.nanoTime() - start;
            }
        }
        Arrays.sort(t);
        return String.format("%d alloc+free round trips to %s: median %d us, p99 %d us, max %d us",
                n, link.target(), t[n / 2] / 1000, t[Math.min(n - 1, (int) (n * 0.99))] / 1000,
                t[n - 1] / 1000);
    }
}
