package ioasid.backend.vtd.impl;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.SetOwner;
import ioasid.api.TokenType;

/**
 * The VMM side of the VT-d virtual command interface for one VM: it traps the guest's writes to
 * DMAR_VCMD_REG and answers in DMAR_VCRSP_REG. PASIDs come from the host's IOASID service, in one
 * set per VM, so every vIOMMU of the guest ends up at the same host allocator (rule 30). Without
 * a host service it hands out PASIDs from a space of its own.
 *
 * <p>Response: IP (bit 0) while the command runs, status (bits 2:1), PASID (bits 27:8). Status
 * codes: SUCCESS 0; 1 for a command it does not know; NO_PASID_AVAIL and INVALID_PASID 2 (known
 * bug 7: they were once 1); 3 for any other host failure.
 */
public final class VcmdHost {
    static final int CMD_ALLOC = 1;
    static final int CMD_FREE = 2;
    static final int SC_SUCCESS = 0;
    static final int SC_UNDEFINED_CMD = 1;
    static final int SC_NO_PASID_AVAIL = 2;
    static final int SC_INVALID_PASID = 2;
    static final int SC_HOST_FAILURE = 3;

    private static final System.Logger LOG = System.getLogger("ioasid.backend.vtd");
    private static final Map<List<Object>, VcmdHost> SHARED = new HashMap<>();

    private final String vm;
    private final IoasidService service;
    private final IoasidSet set;
    /** The key to {@link #set}: the VM's PASIDs live there, so no one else may free it (D19). */
    private final SetOwner setOwner = new SetOwner("vtd-vcmd");
    private final int maxPasid;
    private final Map<Integer, IoasidHandle> held = new HashMap<>();
    private final BitSet local;
    private final int localQuota;
    private int latency = 1;
    private Integer forcedStatus;
    private int users;
    private List<Object> sharedKey;
    private final List<String> log = new ArrayList<>();
    private final Object helpers = new Object() {
        @Override
        public String toString() {
            return "intel_vcmd_ioasid_alloc/free (" + vm + ")";
        }
    };

    /**
     * A VM whose PASIDs come from a host IOASID service, in a set of its own.
     *
     * @param quota the set's quota; 0 takes what the host has left
     */
    public VcmdHost(IoasidService host, String vm, int quota) {
        this.vm = vm;
        this.service = host;
        this.set = host.createSet(TokenType.NONE, "vcmd:" + vm, quota, setOwner);
        this.maxPasid = Ioasid.MAX_ID;
        this.local = null;
        this.localQuota = 0;
    }

    /** A VM whose VMM hands out PASIDs from its own 20-bit space, at most {@code quota} of them. */
    public VcmdHost(String vm, int quota) {
        this.vm = vm;
        this.service = null;
        this.set = null;
        this.maxPasid = Ioasid.MAX_ID;
        this.local = new BitSet();
        this.localQuota = quota <= 0 ? Ioasid.MAX_ID : quota;
    }

    /**
     * The host of a VM shared by every vIOMMU instance of the bundle that names it; released
     * with {@link #release()} by each.
     */
    static synchronized VcmdHost acquire(IoasidService host, String vm, int quota) {
        List<Object> key = List.of(host == null ? "local" : host, vm);
        VcmdHost h = SHARED.get(key);
        if (h == null) {
            h = host == null ? new VcmdHost(vm, quota) : new VcmdHost(host, vm, quota);
            h.sharedKey = key;
            SHARED.put(key, h);
        }
        h.users++;
        return h;
    }

    /** Drops one user of a shared host; the last one frees the VM's set. */
    void release() {
        synchronized (VcmdHost.class) {
            if (sharedKey == null || --users > 0) {
                return;
            }
            SHARED.remove(sharedKey);
        }
        synchronized (this) {
            if (set != null) {
                for (IoasidHandle h : held.values()) {
                    service.free(h);
                }
                held.clear();
                service.freeSet(set, setOwner);
            }
        }
    }

    /** Executes one trapped command and returns the final VCRSP value. */
    synchronized long execute(long command) {
        int op = (int) (command & 0xff);
        if (forcedStatus != null) {
            int sc = forcedStatus;
            forcedStatus = null;
            log.add("cmd 0x" + Long.toHexString(command) + " -> forced status " + sc);
            return response(sc, 0);
        }
        switch (op) {
            case CMD_ALLOC:
                return alloc();
            case CMD_FREE:
                return free((int) (command >>> 8) & Ioasid.MAX_ID);
            default:
                log.add("cmd 0x" + Long.toHexString(command) + " -> undefined");
                return response(SC_UNDEFINED_CMD, 0);
        }
    }

    private long alloc() {
        if (local != null) {
            int id = local.nextClearBit(1);
            if (id > maxPasid || local.cardinality() >= localQuota) {
                log.add("alloc -> no PASID");
                return response(SC_NO_PASID_AVAIL, 0);
            }
            local.set(id);
            log.add("alloc -> " + id);
            return response(SC_SUCCESS, id);
        }
        try {
            IoasidHandle h = service.alloc(set, 1, maxPasid, null);
            held.put(h.id(), h);
            log.add("alloc -> " + h.id());
            return response(SC_SUCCESS, h.id());
        } catch (IoasidException e) {
            log.add("alloc -> " + e.errno());
            if (e.errno() == Errno.ENOSPC) {
                return response(SC_NO_PASID_AVAIL, 0);
            }
            // a typed refusal (a host that left answers EAGAIN): one line, its trace says nothing
            LOG.log(System.Logger.Level.WARNING, "VM " + vm + ": host allocation failed: "
                    + e.getMessage());
            return response(SC_HOST_FAILURE, 0);
        }
    }

    private long free(int pasid) {
        if (local != null) {
            if (pasid == 0 || !local.get(pasid)) {
                log.add("free " + pasid + " -> invalid");
                return response(SC_INVALID_PASID, 0);
            }
            local.clear(pasid);
            log.add("free " + pasid);
            return response(SC_SUCCESS, 0);
        }
        IoasidHandle h = held.remove(pasid);
        if (h == null) {
            log.add("free " + pasid + " -> invalid");
            return response(SC_INVALID_PASID, 0);
        }
        try {
            service.free(h);
        } catch (IoasidException e) {
            log.add("free " + pasid + " -> " + e.errno());
            return response(SC_HOST_FAILURE, 0);
        }
        log.add("free " + pasid);
        return response(SC_SUCCESS, 0);
    }

    static long response(int status, int pasid) {
        return (long) (status & 3) << 1 | (long) (pasid & Ioasid.MAX_ID) << 8;
    }

    /** How many VCRSP reads show IP before the response completes. */
    synchronized int latency() {
        return latency;
    }

    synchronized void latency(int polls) {
        this.latency = Math.max(0, polls);
    }

    /** Makes the next command answer with this status, whatever it asks (fault injection). */
    synchronized void forceNextStatus(int status) {
        this.forcedStatus = status;
    }

    /** The host PASIDs this VM holds now. */
    synchronized int outstanding() {
        return local != null ? local.cardinality() : held.size();
    }

    /** The host set the VM's PASIDs are in; null for a VMM with its own space. */
    IoasidSet set() {
        return set;
    }

    String vm() {
        return vm;
    }

    /**
     * The identity of this session's alloc/free helpers: every guest allocator talking to this
     * VMM shares it, and a VMM created after this one was released has another.
     */
    Object helpers() {
        return helpers;
    }

    synchronized List<String> log() {
        return Collections.unmodifiableList(new ArrayList<>(log));
    }

    @Override
    public String toString() {
        return "VMM of " + vm + (service != null ? " (host set " + set.id() + ")" : " (own space)");
    }
}
