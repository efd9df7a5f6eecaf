package ioasid.core.impl;

import static ioasid.api.Errno.EACCES;
import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.api.Errno.EPERM;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;
import java.util.Map;
import java.util.Set;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.SetOwner;
import ioasid.api.SetState;
import ioasid.api.TokenType;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.CapacityDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.api.dto.IoasidDTO;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.dto.OccupancyDTO;
import ioasid.api.dto.SetDTO;
import ioasid.api.dto.SetExportDTO;
import ioasid.api.dto.StatsDTO;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidAllocator;
import ioasid.api.spi.IoasidListener;
import ioasid.core.config.CoreSettings;

/*
 * The IOASID core. One system-wide ID space, split into sets. This class is the service and
 * holds the hot path: the ID bitmap, the table read without a lock, allocation, lookup,
 * references and reclaim. It calls the classes that hold the rest (SetRegistry, AllocatorStack,
 * Attachments, ListenerChains, Snapshots); none of them calls it back.
 *
 * The core's own invariants are C1-C10, numbered across these classes (C2-C5 open
 * AllocatorStack, C8 Dispatcher, C9 SetRegistry; the kernel's rules are "rule N" in docs/).
 * This class enforces:
 *  C1. The space has 2^bits IDs (20 by default). ID 0 is reserved and never handed out. IDs are
 *     allocated lowest-free in [min, max], both inclusive; a range outside the space is EINVAL.
 *  C6. An ID holds an allocation reference until it is freed; get and put add and drop others, the
 *     last put reclaims it. No reference is taken once it is FREE_PENDING, and a second free is a
 *     no-op.
 *  C7. Each lifetime of an ID sends ALLOC, then FREE exactly once (at the free, the revocation or
 *     the last put, whichever comes first); a SPID sends BIND when attached and UNBIND when
 *     detached or when its ID is reclaimed.
 * C10. find is lock-free. Every other change happens under one lock, except get and put that do
 *     not reclaim, which compare-and-set the handle's reference word. No plugin code (allocator,
 *     listener) ever runs under the lock.
 * The one exception to C10 is a custom allocator's helper identity: its equals, hashCode and
 * toString run under the lock, as IoasidAllocator.helpers() tells allocator authors.
 */
@Component(service = IoasidService.class, immediate = true, configurationPid = IoasidCore.PID)
@Designate(ocd = IoasidCore.Config.class)
public final class IoasidCore implements IoasidService {
    public static final String PID = "ioasid.core";
    static final long DEFAULT_STALL_MS = 10_000;

    @ObjectClassDefinition(name = "IOASID core",
            description = "The system-wide IOASID (PASID) space")
    public @interface Config {
        @AttributeDefinition(name = "ID bits",
                description = "Width of the ID space; 20 is the PCIe PASID width. Takes effect "
                        + "when the core restarts.",
                min = "1", max = "20")
        int id_bits() default Ioasid.DEFAULT_BITS;

        @AttributeDefinition(name = "Listener stall timeout (ms)",
                description = "A listener that does not return within this time is skipped from "
                        + "then on, and the chain goes on without it",
                min = "1")
        long listener_stall_timeout_ms() default DEFAULT_STALL_MS;
    }

    private static final System.Logger LOG = System.getLogger("ioasid.core");
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(HandleImpl[].class);

    final int bits;
    final int maxId;
    private final CoreLock lock = new CoreLock();
    private final IdBitmap bitmap;
    /** ID to handle; written under the lock, read without it. */
    private final HandleImpl[] table;
    private final Dispatcher dispatcher;
    private final AllocatorNotices notices;
    private final SetRegistry sets;
    private final AllocatorStack stack;
    private final Attachments attachments;
    private final ListenerChains chains;
    private final Snapshots snapshots;
    private final Occupancy occupancy;

    // Guarded by the lock.
    private int live;
    private long allocations;
    private long reclaims;
    private boolean closed;

    @Activate
    public IoasidCore(Config config, BundleContext context, Map<String, Object> properties) {
        this(CoreSettings.refused(context, PID, properties,
                "the IOASID core uses the default of each"), config);
    }

    private IoasidCore(Set<String> refused, Config config) {
        this(refused.contains("id.bits") ? Ioasid.DEFAULT_BITS : config.id_bits(),
                refused.contains("listener.stall.timeout.ms") ? DEFAULT_STALL_MS
                        : config.listener_stall_timeout_ms());
    }

    public IoasidCore(int bits, long stallTimeoutMillis) {
        if (bits < 1 || bits > Ioasid.DEFAULT_BITS) {
            throw new IoasidException(EINVAL, "ID width " + bits + " not in [1, 20]");
        }
        if (stallTimeoutMillis < 1) {
            throw new IoasidException(EINVAL, "stall timeout " + stallTimeoutMillis + " ms");
        }
        this.bits = bits;
        this.maxId = (1 << bits) - 1;
        this.bitmap = new IdBitmap(bits);
        this.bitmap.set(Ioasid.NO_PASID);
        this.table = new HandleImpl[1 << bits];
        this.dispatcher = new Dispatcher(stallTimeoutMillis);
        this.notices = new AllocatorNotices(lock);
        this.sets = new SetRegistry(lock, bits);
        this.stack = new AllocatorStack(lock, notices);
        this.attachments = new Attachments(lock, dispatcher);
        this.chains = new ListenerChains(lock, dispatcher, bitmap, table, sets, attachments);
        this.snapshots = new Snapshots(lock, bits, bitmap, table, sets, stack, chains, dispatcher);
        this.occupancy = new Occupancy(lock, bits, bitmap, table);
    }

    @Modified
    void modified(Config config, BundleContext context, Map<String, Object> properties) {
        if (!CoreSettings.refused(context, PID, properties,
                "the IOASID core keeps its current settings").isEmpty()) {
            return;
        }
        if (config.id_bits() != bits) {
            LOG.log(System.Logger.Level.WARNING, "IOASID ID width change to " + config.id_bits()
                    + " bits takes effect when the core restarts; still " + bits);
        }
        if (config.listener_stall_timeout_ms() >= 1) {
            dispatcher.stallTimeout(config.listener_stall_timeout_ms());
        }
    }

    @Deactivate
    public void close() {
        lock.lock();
        try {
            closed = true;
        } finally {
            lock.unlock();
        }
        dispatcher.close();
    }

    // ------------------------------------------------------------------ validation helpers

    private static IoasidException err(Errno errno, String message) {
        return new IoasidException(errno, message);
    }

    private SetImpl own(IoasidSet set) {
        if (set instanceof SetImpl s && s.owner == this) {
            return s;
        }
        throw err(EINVAL, "set " + set + " is not of this IOASID service");
    }

    private HandleImpl own(IoasidHandle handle) {
        if (handle instanceof HandleImpl h && h.set.owner == this) {
            return h;
        }
        throw err(EINVAL, "handle " + handle + " is not of this IOASID service");
    }

    private void checkOpen() {
        if (closed) {
            throw err(ENODEV, "the IOASID service has stopped");
        }
    }

    private void checkId(int id) {
        if (id < 0 || id > maxId) {
            throw err(EINVAL, "ID " + id + " outside the " + bits + "-bit space");
        }
    }

    /** The handle of a number, checked against the set; {@code unknown} if there is none. */
    private HandleImpl byNumber(IoasidSet set, int id, Errno unknown) {
        checkId(id);
        HandleImpl h = (HandleImpl) SLOT.getAcquire(table, id);
        if (h == null) {
            throw err(unknown, "unknown IOASID " + id);
        }
        if (set != null && h.set != set) {
            throw err(EACCES, "IOASID " + id + " belongs to set " + h.set.id);
        }
        return h;
    }

    // ------------------------------------------------------------------ sets and capacity

    @Override
    public IoasidSet createSet(TokenType type, Object token, int quota) {
        return createSet(type, token, quota, null);
    }

    @Override
    public IoasidSet createSet(TokenType type, Object token, int quota, SetOwner owner) {
        SetRegistry.checkNew(type, token, quota);
        lock.lock();
        try {
            checkOpen();
            SetImpl s = sets.create(this, type, token, quota, owner);
            chains.setCreated(s);
            return s;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean freeSet(IoasidSet set) {
        return freeSet(set, null);
    }

    @Override
    public boolean freeSet(IoasidSet set, SetOwner owner) {
        SetImpl s = own(set);
        lock.lock();
        try {
            boolean now = sets.free(s, owner);
            if (now) {
                chains.setFreed(s);
            }
            return now;
        } finally {
            lock.unlock();
        }
    }

    /** Frees a FREE_PENDING set once its last ID and allocation are gone (rule 9). */
    private void releaseSetSlot(SetImpl s) {
        if (s.state == SetState.FREE_PENDING && s.size == 0 && s.inFlight == 0) {
            sets.finishFree(s);
            chains.setFreed(s);
        }
    }

    @Override
    public IoasidSet findSet(TokenType type, Object token) {
        return sets.find(type, token);
    }

    @Override
    public IoasidSet findSet(int setId) {
        return sets.find(setId);
    }

    @Override
    public void installCapacity(int total) {
        sets.installCapacity(total);
    }

    @Override
    public int reserveCapacity(int n) {
        return sets.reserveCapacity(n);
    }

    @Override
    public int cancelCapacity(int n) {
        return sets.cancelCapacity(n);
    }

    // ------------------------------------------------------------------ migration (D36)

    @Override
    public SetExportDTO exportSet(IoasidSet set) {
        SetImpl s = own(set);
        lock.lock();
        try {
            return SetMigration.export(s, bitmap, table, bits);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public IoasidSet importSet(SetExportDTO state, Object token, SetOwner owner) {
        SetMigration.Plan plan = SetMigration.check(state, maxId);
        SetRegistry.checkNew(plan.type, token, plan.quota);
        SetImpl s;
        long ev;
        lock.lock();
        try {
            checkOpen();
            HelperGroup g = stack.active();
            if (!g.isDefault()) {
                throw err(EBUSY, "a custom allocator picks this space's IDs; an import needs the"
                        + " default allocator active");
            }
            int[] ids = SetMigration.place(plan, token, sets, bitmap, maxId);
            s = sets.create(this, plan.type, token, plan.quota, owner);
            chains.setCreated(s);
            for (int i = 0; i < ids.length; i++) {
                HandleImpl h = record(ids[i], s, null, g);
                dispatcher.emit(EventType.ALLOC, h, Ioasid.INVALID);
                attachments.attachImported(h, plan.spids[i]);
            }
            ev = dispatcher.lastSequence();
        } finally {
            lock.unlock();
        }
        dispatcher.await(ev);
        return s;
    }

    // ------------------------------------------------------------------ allocation

    @Override
    public IoasidHandle alloc(IoasidSet set, int min, int max, Object privateData) {
        SetImpl s = own(set);
        if (min < 1 || max > maxId || min > max) {
            throw err(EINVAL, "range [" + min + ", " + max + "] not within [1, " + maxId + "]");
        }
        HelperGroup g;
        HandleImpl h = null;
        long ev = 0;
        lock.lock();
        try {
            checkOpen();
            checkAllocatable(s);
            g = stack.active();
            if (g.isDefault()) {
                int id = bitmap.nextClear(min, max);
                if (id < 0) {
                    throw err(ENOSPC, "no free ID in [" + min + ", " + max + "]");
                }
                h = record(id, s, privateData, g);
                ev = dispatcher.emit(EventType.ALLOC, h, Ioasid.INVALID);
            } else {
                // A custom allocator runs outside the lock; the in-flight count keeps its space
                // active (rule 4) and the set's quota slot reserved meanwhile.
                g.inFlight++;
                s.inFlight++;
            }
        } finally {
            lock.unlock();
        }
        if (h == null) {
            return allocCustom(s, min, max, privateData, g);
        }
        if (ev != 0) {
            dispatcher.await(ev);
        }
        return h;
    }

    private void checkAllocatable(SetImpl s) {
        if (s.state == SetState.FREED) {
            throw err(EINVAL, "set " + s.id + " was freed");
        }
        if (s.state == SetState.FREE_PENDING) {
            throw err(EBUSY, "set " + s.id + " is being freed");
        }
        if (s.size + s.inFlight >= s.quota) {
            throw err(ENOSPC, "set " + s.id + " is out of quota (" + s.quota + ")");
        }
    }

    private HandleImpl record(int id, SetImpl s, Object data, HelperGroup g) {
        HandleImpl h = new HandleImpl(id, s, data);
        // first: under G1 this store fences, and it is cheapest before the other stores queue up
        SLOT.setRelease(table, id, h);
        bitmap.set(id);
        s.size++;
        g.live++;
        live++;
        allocations++;
        return h;
    }

    /** Allocation through the active custom allocator, asked outside the lock. */
    private IoasidHandle allocCustom(SetImpl s, int min, int max, Object data, HelperGroup g) {
        AllocatorStack.Call c = new AllocatorStack.Call(g);
        IoasidException failure = null;
        HandleImpl h = null;
        long ev = 0;
        for (;;) {
            stack.ask(c, min, max);
            lock.lock();
            try {
                boolean tracked = c.id >= min && c.id <= max && bitmap.get(c.id);
                if (tracked && stack.parks(c, table[c.id])) {
                    continue; // rule 5: a revoked ID of another space holds the number
                }
                g.inFlight--;
                s.inFlight--;
                failure = stack.refusal(c, min, max, tracked);
                if (failure == null && s.state != SetState.ACTIVE) {
                    c.giveBack = true;
                    failure = err(EBUSY, "set " + s.id + " was freed during the allocation");
                }
                if (failure == null) {
                    h = record(c.id, s, data, g);
                    ev = dispatcher.emit(EventType.ALLOC, h, Ioasid.INVALID);
                } else {
                    releaseSetSlot(s);
                    if (g == stack.active() && !g.outstanding()) {
                        stack.reevaluate();
                    }
                }
            } finally {
                lock.unlock();
            }
            break;
        }
        notices.flush();
        stack.settle(c, failure);
        if (failure != null) {
            throw failure;
        }
        if (ev != 0) {
            dispatcher.await(ev);
        }
        return h;
    }

    // ------------------------------------------------------------------ free, get, put

    @Override
    public void free(IoasidHandle handle) {
        HandleImpl h = own(handle);
        AllocatorStack.GiveBacks gb = null;
        long ev;
        lock.lock();
        try {
            // the last put drops the count outside the lock: re-check on every try, so a free
            // that loses to it fails as stale instead of returning on a gone ID
            int w;
            int nw;
            do {
                w = h.word();
                HandleImpl.checkLive(h, w);
                if ((w & HandleImpl.FREED) != 0) {
                    return; // rule 67: level-sensitive, nothing more
                }
                nw = (w | HandleImpl.FREED) - HandleImpl.ONE_REF;
            } while (!h.cas(w, nw));
            gb = freedLocked(h, nw, null);
            ev = dispatcher.lastSequence();
        } finally {
            lock.unlock();
        }
        notices.flush();
        stack.runGiveBacks(gb);
        dispatcher.await(ev);
    }

    /**
     * Moves a live, not yet freed ID to FREE_PENDING, dropping the allocation reference, with
     * one FREE; reclaims it when that was the last reference.
     */
    private AllocatorStack.GiveBacks freeLocked(HandleImpl h, AllocatorStack.GiveBacks gb) {
        int w;
        int nw;
        do {
            w = h.word();
            if (HandleImpl.dead(w) || (w & HandleImpl.FREED) != 0) {
                return gb;
            }
            nw = (w | HandleImpl.FREED) - HandleImpl.ONE_REF;
        } while (!h.cas(w, nw));
        return freedLocked(h, nw, gb);
    }

    /** The FREE of a handle just marked FREED (word now {@code nw}); the reclaim if no refs. */
    private AllocatorStack.GiveBacks freedLocked(HandleImpl h, int nw,
            AllocatorStack.GiveBacks gb) {
        dispatcher.emit(EventType.FREE, h, h.spidAcquire());
        if (HandleImpl.refs(nw) == 0) {
            gb = reclaimLocked(h, gb);
        }
        return gb;
    }

    /**
     * Removes a handle whose last reference is gone. No CAS: zero references is final (get
     * refuses a dead handle), and REVOKED is only ever set under this lock.
     */
    private AllocatorStack.GiveBacks reclaimLocked(HandleImpl h, AllocatorStack.GiveBacks gb) {
        int w = h.word();
        SetImpl s = h.set;
        attachments.reclaimed(h);
        SLOT.setRelease(table, h.id, null);
        bitmap.clear(h.id);
        s.size--;
        live--;
        reclaims++;
        gb = stack.reclaimed(h.id, (w & HandleImpl.REVOKED) != 0, gb);
        releaseSetSlot(s);
        return gb;
    }

    @Override
    public void free(IoasidSet set, int id) {
        free(byNumber(set, id, ENOENT));
    }

    @Override
    public int freeAllInSet(IoasidSet set) {
        SetImpl s = own(set);
        AllocatorStack.GiveBacks gb = null;
        int count = 0;
        long ev;
        lock.lock();
        try {
            if (s.state == SetState.FREED) {
                throw err(EINVAL, "set " + s.id + " was freed already");
            }
            for (int id = bitmap.nextSet(1); id >= 0 && s.size > 0; id = bitmap.nextSet(id + 1)) {
                HandleImpl h = table[id];
                if (h != null && h.set == s) {
                    int w = h.word();
                    if (!HandleImpl.dead(w) && (w & HandleImpl.FREED) == 0) {
                        count++;
                        gb = freeLocked(h, gb);
                    }
                }
            }
            ev = dispatcher.lastSequence();
        } finally {
            lock.unlock();
        }
        notices.flush();
        stack.runGiveBacks(gb);
        dispatcher.await(ev);
        return count;
    }

    @Override
    public void get(IoasidHandle handle) {
        HandleImpl h = own(handle);
        if (!h.tryGet()) {
            throw err(EINVAL, "IOASID " + h.id + " was freed (stale handle)");
        }
    }

    @Override
    public IoasidHandle get(IoasidSet set, int id) {
        HandleImpl h = byNumber(set, id, EINVAL);
        if (!h.tryGet()) {
            throw err(EINVAL, "unknown IOASID " + id);
        }
        return h;
    }

    @Override
    public IoasidHandle getIfOwned(Object mm, int id) {
        if (mm == null) {
            throw err(EINVAL, "null address-space token");
        }
        HandleImpl h = byNumber(null, id, ENOENT);
        if (h.set.type != TokenType.MM) {
            throw err(EINVAL, "IOASID " + id + " is not in an MM set");
        }
        if (!mm.equals(h.set.token)) {
            throw err(EPERM, "IOASID " + id + " belongs to another address space");
        }
        if (!h.tryGet()) {
            throw err(ENOENT, "unknown IOASID " + id);
        }
        return h;
    }

    @Override
    public boolean put(IoasidHandle handle) {
        HandleImpl h = own(handle);
        int w;
        int nw;
        do {
            w = h.word();
            HandleImpl.checkLive(h, w);
            nw = w - HandleImpl.ONE_REF;
        } while (!h.cas(w, nw));
        if (HandleImpl.refs(nw) > 0) {
            return false;
        }
        AllocatorStack.GiveBacks gb;
        long ev;
        lock.lock();
        try {
            if ((nw & HandleImpl.FREED) == 0) {
                // the allocation reference went without a free: still one FREE (rule 7 above)
                dispatcher.emit(EventType.FREE, h, h.spidAcquire());
            }
            gb = reclaimLocked(h, null);
            ev = dispatcher.lastSequence();
        } finally {
            lock.unlock();
        }
        notices.flush();
        stack.runGiveBacks(gb);
        dispatcher.await(ev);
        return true;
    }

    @Override
    public boolean put(IoasidSet set, int id) {
        return put(byNumber(set, id, ENOENT));
    }

    @Override
    public IoasidHandle find(IoasidSet set, int id) {
        if (id < 0 || id > maxId) {
            throw err(EINVAL, "ID " + id + " outside the " + bits + "-bit space");
        }
        HandleImpl h = (HandleImpl) SLOT.getAcquire(table, id);
        if (h == null) {
            throw err(ENOENT, "unknown IOASID " + id);
        }
        if (set != null && h.set != set) {
            throw err(EACCES, "IOASID " + id + " belongs to set " + h.set.id);
        }
        return h;
    }

    // ------------------------------------------------------------------ private data and SPIDs

    @Override
    public void attachData(IoasidHandle handle, Object data) {
        attachments.attachData(own(handle), data);
    }

    @Override
    public Object setData(IoasidHandle handle, Object data) {
        return attachments.setData(own(handle), data);
    }

    @Override
    public Object detachData(IoasidHandle handle) {
        return setData(handle, null);
    }

    @Override
    public IoasidHandle findBySpid(IoasidSet set, int spid, boolean get) {
        return attachments.findBySpid(own(set), spid, get);
    }

    @Override
    public void attachSpid(IoasidHandle handle, int spid) {
        attachments.attachSpid(own(handle), spid);
    }

    @Override
    public void detachSpid(IoasidHandle handle) {
        attachments.detachSpid(own(handle));
    }

    @Override
    public void notify(IoasidHandle handle, EventType type) {
        attachments.notify(own(handle), type);
    }

    // ------------------------------------------------------------------ allocator whiteboard

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    public void bindAllocator(IoasidAllocator allocator, Map<String, Object> props) {
        stack.bind(allocator, props);
    }

    public void updatedAllocator(IoasidAllocator allocator, Map<String, Object> props) {
        stack.updated(props);
    }

    public void unbindAllocator(IoasidAllocator allocator, Map<String, Object> props) {
        long sid = ServiceProperties.serviceId(props);
        AllocatorStack.Departure d;
        long ev;
        lock.lock();
        try {
            d = stack.remove(sid);
            if (d == null) {
                return;
            }
            if (d.revoke != null) {
                stack.revoked(d, revokeAll(d.revoke));
            }
            stack.reevaluate();
            ev = dispatcher.lastSequence();
        } finally {
            lock.unlock();
        }
        stack.departed(d);
        dispatcher.await(ev);
    }

    /**
     * D7: every live ID of the departing active space is freed, marked revoked (rule 5). Returns
     * how many were freed now.
     */
    private int revokeAll(HelperGroup g) {
        WeakReference<Object> from = new WeakReference<>(g.helpers);
        int freed = 0;
        for (int id = bitmap.nextSet(1); id >= 0; id = bitmap.nextSet(id + 1)) {
            HandleImpl h = table[id];
            if (h == null) {
                continue;
            }
            int w;
            int nw;
            boolean freeing;
            do {
                w = h.word();
                if ((w & HandleImpl.REVOKED) != 0) {
                    break;
                }
                // a dying ID (last put under way) is only marked, so its reclaim skips the space
                freeing = !HandleImpl.dead(w) && (w & HandleImpl.FREED) == 0;
                nw = w | HandleImpl.REVOKED;
                if (freeing) {
                    nw = (nw | HandleImpl.FREED) - HandleImpl.ONE_REF;
                }
                if (h.cas(w, nw)) {
                    stack.revokedFrom(id, from);
                    if (freeing) {
                        freed++;
                        dispatcher.emit(EventType.FREE, h, h.spidAcquire());
                        if (HandleImpl.refs(nw) == 0) {
                            reclaimLocked(h, null);
                        }
                    }
                    break;
                }
            } while (true);
        }
        return freed;
    }

    // ------------------------------------------------------------------ listener whiteboard

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    public void bindListener(IoasidListener listener, Map<String, Object> props) {
        chains.bind(listener, props);
    }

    public void updatedListener(IoasidListener listener, Map<String, Object> props) {
        chains.updated(listener, props);
    }

    public void unbindListener(IoasidListener listener, Map<String, Object> props) {
        chains.unbind(listener, props);
    }

    // ------------------------------------------------------------------ Event Admin (optional)

    /**
     * Event Admin, typed as Object so the core needs its classes only when one is bound. While
     * bound, an internal listener last in every chain posts each IOASID event on
     * {@link ioasid.api.IoasidTopics}, after a replay of the current state, and the allocator
     * stack posts its changes.
     */
    @Reference(service = org.osgi.service.event.EventAdmin.class, name = "eventAdmin",
            cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    public void bindEventAdmin(Object eventAdmin) {
        EventAdminPoster poster = new EventAdminPoster(eventAdmin);
        notices.monitor(poster);
        chains.bindEventAdmin(poster.ioasidListener());
    }

    public void unbindEventAdmin(Object eventAdmin) {
        chains.unbindEventAdmin();
        notices.monitor(null);
    }

    // ------------------------------------------------------------------ snapshots

    @Override
    public CapacityDTO capacity() {
        return snapshots.capacity();
    }

    @Override
    public IdSpaceDTO[] idSpaces() {
        return snapshots.idSpaces();
    }

    @Override
    public AllocatorDTO[] allocators() {
        return snapshots.allocators();
    }

    @Override
    public SetDTO[] sets() {
        return snapshots.sets();
    }

    @Override
    public ListenerDTO[] listeners() {
        return snapshots.listeners();
    }

    @Override
    public IoasidDTO[] ids(IoasidSet set, int limit) {
        if (limit < 0) {
            throw err(EINVAL, "negative limit " + limit);
        }
        return snapshots.ids(set == null ? null : own(set), limit);
    }

    @Override
    public StatsDTO stats() {
        lock.lock();
        try {
            return snapshots.stats(live, allocations, reclaims);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public OccupancyDTO occupancy(int buckets) {
        return occupancy.take(buckets);
    }

    @Override
    public String toString() {
        return "IoasidCore[" + bits + " bits]";
    }
}
