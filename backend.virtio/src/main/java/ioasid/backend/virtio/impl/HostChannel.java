package ioasid.backend.virtio.impl;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.SetOwner;
import ioasid.api.SetState;
import ioasid.api.TokenType;

/*
 * The guest's channel to the host's IOASID service: a guest PASID allocation becomes a
 * system-wide ID in the host's service, in the guest VM's set there (rule 88: guests "must use an
 * emulated virtual command interface to allocate IOASID from the host"). virtio-iommu defines no
 * such request, so the channel stands beside the request queue, like VT-d's VCMD registers.
 *
 * The channel object is the helper identity of the allocators using it (rule 17): every
 * virtio-iommu naming the same channel shares it, and so shares one guest ID space.
 *
 * Rules:
 *  1. The host is offered by the instances using the channel (each binds its own host reference);
 *     the first offer still standing is used.
 *  2. The VM's set is found on the host by its token, or created with the configured quota, as
 *     a set this bundle owns: it outlives channels, and no one else may free it (D19).
 *  3. alloc returns INVALID when there is no host or the host refuses (rule 20): the allocator
 *     API has no errno.
 *  4. free returns an ID to the host that granted it, even if another host is used by now; an ID
 *     it never granted is logged and ignored (rule 21: free cannot fail).
 *  5. The host is called outside this object's lock.
 */
final class HostChannel {
    private static final System.Logger LOG = System.getLogger("ioasid.backend.virtio");
    static final int CALLS_MAX = 4096;
    /** The owner of the VM sets the channels create; the channels never free them. */
    static final SetOwner VM_SET_OWNER = new SetOwner("virtio-iommu");

    private record Grant(IoasidService host, IoasidHandle handle) {
        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VirtioIommuBackend
            return o instanceof Grant g && Objects.equals(g.host, host)
                    && Objects.equals(g.handle, handle);
        }

        @Override
        public int hashCode() {
            return 31 * Objects.hashCode(host) + Objects.hashCode(handle);
        }

        @Override
        public String toString() {
            return "Grant[host=" + host + ", handle=" + handle + "]";
        }
    }

    final String name;
    final String vmToken;
    final int vmQuota;

    // guarded by this
    private final Map<Object, IoasidService> offers = new LinkedHashMap<>();
    private final Map<Integer, Grant> granted = new HashMap<>();
    private final Map<IoasidService, IoasidSet> vmSets = new IdentityHashMap<>();
    private final List<String> calls = new ArrayList<>();

    HostChannel(String name, String vmToken, int vmQuota) {
        this.name = name;
        this.vmToken = vmToken;
        this.vmQuota = vmQuota;
    }

    synchronized void offerHost(Object owner, IoasidService host) {
        offers.put(owner, host);
    }

    synchronized void withdrawHost(Object owner, IoasidService host) {
        offers.remove(owner, host);
    }

    synchronized IoasidService host() {
        return offers.isEmpty() ? null : offers.values().iterator().next();
    }

    /** Allocates a host PASID in {@code [min, max]} for the guest; INVALID when none. */
    int alloc(int min, int max, String by) {
        IoasidService host = host();
        if (host == null) {
            record(by + ": alloc [" + min + "," + max + "] -> INVALID (no host)");
            return Ioasid.INVALID;
        }
        IoasidHandle h;
        try {
            h = host.alloc(vmSet(host), min, max, null);
        } catch (IoasidException e) {
            record(by + ": alloc [" + min + "," + max + "] -> INVALID (" + e.errno() + ")");
            return Ioasid.INVALID;
        }
        synchronized (this) {
            granted.put(h.id(), new Grant(host, h));
            record(by + ": alloc [" + min + "," + max + "] -> " + h.id());
        }
        return h.id();
    }

    /** Gives a PASID back to the host that granted it. */
    void free(int id, String by) {
        Grant g;
        synchronized (this) {
            g = granted.remove(id);
            record(by + ": free " + id + (g == null ? " (not granted here)" : ""));
        }
        if (g == null) {
            LOG.log(System.Logger.Level.WARNING, "host channel " + name + ": free of PASID " + id
                    + " it never granted");
            return;
        }
        try {
            g.host.free(g.handle);
        } catch (IoasidException e) {
            LOG.log(System.Logger.Level.WARNING, "host channel " + name + ": host refused to free "
                    + id + ": " + e.getMessage());
        }
    }

    /** The VM's set on that host, found by token or created. */
    private IoasidSet vmSet(IoasidService host) {
        synchronized (this) {
            IoasidSet s = vmSets.get(host);
            if (s != null && s.state() == SetState.ACTIVE) {
                return s;
            }
        }
        IoasidSet s;
        try {
            s = host.findSet(TokenType.NONE, vmToken);
        } catch (IoasidException e) {
            if (e.errno() != Errno.ENOENT) {
                throw e;
            }
            try {
                s = host.createSet(TokenType.NONE, vmToken, vmQuota, VM_SET_OWNER);
            } catch (IoasidException raced) {
                if (raced.errno() != Errno.EEXIST) {
                    throw raced;
                }
                s = host.findSet(TokenType.NONE, vmToken);
            }
        }
        synchronized (this) {
            vmSets.put(host, s);
        }
        return s;
    }

    /** PASIDs granted and not yet given back. */
    synchronized int outstanding() {
        return granted.size();
    }

    synchronized List<String> calls() {
        return Collections.unmodifiableList(new ArrayList<>(calls));
    }

    private void record(String call) {
        synchronized (this) {
            calls.add(call);
            if (calls.size() > CALLS_MAX) {
                calls.remove(0);
            }
        }
    }

    @Override
    public String toString() {
        return "virtio-iommu host channel " + name + " (VM set " + vmToken + ")";
    }
}
