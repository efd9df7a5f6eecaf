package ioasid.backend.virtio.impl;

import java.util.HashMap;
import java.util.Map;

/**
 * Shared host channels by name, counted by their users, so that every virtio-iommu instance of
 * the bundle naming a channel gets the same object (the same allocator helpers, rule 17).
 */
final class HostChannels {
    private static final System.Logger LOG = System.getLogger("ioasid.backend.virtio");

    /** The bundle's registry, used by the DS components. */
    static final HostChannels SHARED = new HostChannels();

    private static final class Entry {
        final HostChannel channel;
        int users;

        Entry(HostChannel channel) {
            this.channel = channel;
        }
    }

    private final Map<String, Entry> byName = new HashMap<>();

    synchronized HostChannel acquire(String name, String vmToken, int vmQuota) {
        Entry e = byName.computeIfAbsent(name, n -> new Entry(new HostChannel(n, vmToken,
                vmQuota)));
        if (!e.channel.vmToken.equals(vmToken)) {
            LOG.log(System.Logger.Level.WARNING, "host channel " + name + " serves VM set "
                    + e.channel.vmToken + ", not " + vmToken + " as configured");
        }
        e.users++;
        return e.channel;
    }

    synchronized void release(HostChannel channel) {
        Entry e = byName.get(channel.name);
        if (e != null && e.channel == channel && --e.users == 0) {
            byName.remove(channel.name);
        }
    }

    synchronized int users(String name) {
        Entry e = byName.get(name);
        return e != null ? e.users : 0;
    }
}
