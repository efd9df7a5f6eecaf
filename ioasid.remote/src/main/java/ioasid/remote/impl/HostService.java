package ioasid.remote.impl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.SetOwner;
import ioasid.api.SetState;
import ioasid.api.TokenType;
import ioasid.api.dto.IoasidDTO;
import ioasid.api.dto.SetExportDTO;
import ioasid.api.remote.ClaimDTO;
import ioasid.api.remote.GuestListener;
import ioasid.api.remote.HostIoasidService;
import ioasid.api.remote.SessionDTO;

/*
 * The host's side of HostIoasidService, over the host's system-wide IOASID space. Public: the
 * Remote Services provider calls its methods by reflection.
 *
 * Rules:
 *  1. Only open() takes a secret; one EPERM message for every refusal (no guest, wrong secret,
 *     unknown session), so a caller learns nothing (GuestSecrets compares in constant time).
 *  2. One set per guest, token "guest:<name>", owned by the host (D19): the operator sees it and
 *     cannot free it by mistake. It outlives sessions and this object: a restarted component
 *     finds it again; only a restarted host space forgets it (a new epoch tells the guest).
 *  3. SPIDs (rules 73-75): an ID gets a SPID equal to its host ID when allocated; the guest knows
 *     it by that SPID only. No ID is ever in two guests' sets: the space gives each ID once.
 *  4. Calls of one guest are serialized on its state; guests do not wait for each other.
 *  5. Notices to a guest's listener go out on the notice executor, never under a guest's lock
 *     and never in a guest's call: a slow or gone guest holds nobody up. A notice that fails is
 *     dropped; the guest learns the same at its next reconcile.
 *  6. An operator's revocation sticks: the revoked SPIDs are not given to the guest again, nor
 *     claimed back, before its next session's claim reports them lost.
 *  7. Migration: an exported guest is frozen here (its session's calls and new sessions get
 *     EBUSY naming the move) until its set is released or the export is undone, also across a
 *     restart of the host role (frozenState); the import at the other host creates the set with
 *     the guest's token and this component's owner, so that a session there finds it.
 *  8. An ID of a guest's set freed by anyone else (the host's console, an allocator that left)
 *     is revoked from the guest as by the operator's remote:revoke (rule 6): never live in the
 *     guest's view while the host may give it to another guest.
 */
public final class HostService implements HostIoasidService {
    static final String DENIED = "access denied";
    static final String TOKEN_PREFIX = "guest:";
    /** In every EBUSY answer to a frozen guest, so its link can tell a move from a refusal. */
    static final String EXPORTED = "was exported from this host for a migration";
    /** How many SPIDs of a guest the host's shell lists before "...". */
    static final int LIST_MAX = 64;
    private static final System.Logger LOG = System.getLogger("ioasid.remote");
    private static final Pattern ENDPOINT = Pattern.compile("tcp://([^:/\\s]+):([0-9]{1,5})");

    /** Imports a guest's listener from the endpoint it gave; the import ends on close. */
    interface ListenerImports {
        Imported open(String endpoint);
    }

    /** A notice, dropped rather than run on the caller's thread while the role stops. */
    private interface Notice extends Runnable {
    }

    /** One imported listener. */
    interface Imported {
        GuestListener listener();

        void close();
    }

    private final IoasidService space;
    private final GuestSecrets secrets;
    private final int quota;
    private final long epoch;
    /** One per bundle, not per service: a restarted host role must still free its sets. */
    private static final SetOwner OWNER = new SetOwner("ioasid.remote");
    private final SetOwner owner = OWNER;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, Guest> sessions = new ConcurrentHashMap<>();
    private final Map<String, Guest> guests = new ConcurrentHashMap<>();
    private ListenerImports imports = e -> {
        throw new IoasidException(Errno.EOPNOTSUPP, "this host takes no listeners");
    };
    private Set<String> listenerHosts = Set.of("127.0.0.1");
    private Executor notices = Runnable::run;
    private volatile Path frozenFile;

    /** A guest known to this host: its set, and its session while one is open. */
    static final class Guest {
        final String name;
        volatile IoasidSet set;
        String session;
        /** Host IDs this service is freeing itself: their FREE is no news to the guest. */
        final Set<Integer> ownFrees = ConcurrentHashMap.newKeySet();
        Imported listener;
        /** Exported for a migration: no session until released or resumed (rule 7). */
        volatile boolean exported;
        /** Revoked by the operator and not yet reported lost to a claim (rule 6). */
        final Set<Integer> revoked = ConcurrentHashMap.newKeySet();

        Guest(String name) {
            this.name = name;
        }
    }

    HostService(IoasidService space, GuestSecrets secrets, int quota, long epoch) {
        this.space = space;
        this.secrets = secrets;
        this.quota = quota;
        this.epoch = epoch;
    }

    /**
     * Keeps the names of frozen guests in this file (rule 7), so that a host role restarted by a
     * changed configuration still refuses them; loads what an earlier start left. A name whose
     * set is gone (the whole runtime restarted, its space empty) is dropped.
     */
    void frozenState(Path file) {
        this.frozenFile = file;
        List<String> names = List.of();
        try {
            if (Files.exists(file)) {
                names = Files.readAllLines(file, StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "ioasid.remote: host: cannot read " + file
                    + " (" + e.getMessage() + "): no guest is taken as exported");
        }
        for (String name : names) {
            if (!secrets.names().contains(name)) {
                continue;
            }
            IoasidSet set;
            try {
                set = setOf(name);
            } catch (IoasidException e) {
                set = null;
            }
            if (set == null) {
                continue; // its set is gone: nothing is left here to refuse it for
            }
            Guest g = guests.computeIfAbsent(name, Guest::new);
            synchronized (g) {
                g.set = set;
                g.exported = true;
            }
        }
        saveFrozen();
    }

    /** Writes the frozen guests' names, whole; a failure is one line, the state in memory stays. */
    private void saveFrozen() {
        Path file = frozenFile;
        if (file == null) {
            return;
        }
        List<String> names = new ArrayList<>();
        for (Guest g : guests.values()) {
            if (g.exported) {
                names.add(g.name);
            }
        }
        Collections.sort(names);
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".next");
            Files.write(tmp, names, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "ioasid.remote: host: cannot write " + file
                    + " (" + e.getMessage() + "): a restarted host role forgets " + names);
        }
    }

    /** Lets guests give listeners: imported by imports, from these hosts, told on notices. */
    void listeners(ListenerImports imports, Set<String> hosts, Executor notices) {
        this.imports = imports;
        this.listenerHosts = Set.copyOf(hosts);
        this.notices = notices;
    }

    @Override
    public SessionDTO open(String guest, String secret) {
        if (!secrets.accepts(guest, secret)) {
            throw new IoasidException(Errno.EPERM, DENIED);
        }
        Guest g = guests.computeIfAbsent(guest, Guest::new);
        synchronized (g) {
            if (g.exported) {
                throw exported(g);
            }
            IoasidSet set = guestSet(g);
            endSession(g);
            byte[] token = new byte[18];
            random.nextBytes(token);
            g.session = Base64.getUrlEncoder().encodeToString(token);
            sessions.put(g.session, g);
            SessionDTO dto = new SessionDTO();
            dto.session = g.session;
            dto.epoch = epoch;
            dto.setId = set.id();
            dto.quota = set.quota();
            dto.held = heldIds(g).size();
            return dto;
        }
    }

    /** The set this host's space keeps for the guest, found by its token, or null. */
    private IoasidSet setOf(String name) {
        try {
            return space.findSet(TokenType.NONE, TOKEN_PREFIX + name);
        } catch (IoasidException e) {
            if (e.errno() != Errno.ENOENT) {
                throw e;
            }
            return null;
        }
    }

    /** The guest's set: the one it had, found again by token, or a new one. */
    private IoasidSet guestSet(Guest g) {
        if (g.set != null && g.set.state() == SetState.ACTIVE) {
            return g.set;
        }
        IoasidSet found = setOf(g.name);
        g.set = found != null ? found
                : space.createSet(TokenType.NONE, TOKEN_PREFIX + g.name, quota, owner);
        return g.set;
    }

    private Guest guest(String session) {
        Guest g = session == null ? null : sessions.get(session);
        if (g == null) {
            throw new IoasidException(Errno.EPERM, DENIED);
        }
        return g;
    }

    @Override
    public long ping(String session) {
        Guest g = guest(session);
        if (g.exported) {
            throw exported(g);
        }
        return epoch;
    }

    private static IoasidException exported(Guest g) {
        return new IoasidException(Errno.EBUSY, "guest " + g.name + "'s set " + EXPORTED
                + ": point the guest at its new host");
    }

    @Override
    public int alloc(String session, int min, int max) {
        Guest g = guest(session);
        synchronized (g) {
            checkCurrent(g, session);
            int from = min;
            while (true) {
                IoasidHandle h = space.alloc(g.set, from, max, null);
                try {
                    if (g.revoked.contains(h.id())) {
                        // the guest may not know yet that it lost this SPID (rule 6)
                        throw new IoasidException(Errno.EINVAL, "revoked");
                    }
                    space.attachSpid(h, h.id());
                    return h.id();
                } catch (IoasidException e) {
                    // the SPID is another ID's (the set was given new host IDs) or revoked
                    freeOwn(g, h);
                    if (e.errno() != Errno.EINVAL) {
                        throw e;
                    }
                    if (h.id() >= max) {
                        throw new IoasidException(Errno.ENOSPC, "no ID in [" + min + ", " + max
                                + "] whose SPID is free in guest " + g.name + "'s set");
                    }
                    from = h.id() + 1;
                }
            }
        }
    }

    @Override
    public void free(String session, int spid) {
        Guest g = guest(session);
        synchronized (g) {
            checkCurrent(g, session);
            IoasidHandle h;
            try {
                h = space.findBySpid(g.set, spid, false);
            } catch (IoasidException e) {
                throw new IoasidException(Errno.ENOENT, "guest " + g.name + " holds no SPID "
                        + spid);
            }
            if (h.state() == IoasidState.FREE_PENDING) {
                throw new IoasidException(Errno.ENOENT, "guest " + g.name + " holds no SPID "
                        + spid + " (freed already)");
            }
            freeOwn(g, h);
        }
    }

    @Override
    public int[] held(String session) {
        Guest g = guest(session);
        synchronized (g) {
            checkCurrent(g, session);
            return heldIds(g).keySet().stream().mapToInt(Integer::intValue).toArray();
        }
    }

    /** The guest's live IDs by SPID (FREE_PENDING ones are no longer the guest's). */
    private Map<Integer, Integer> heldIds(Guest g) {
        Map<Integer, Integer> bySpid = new TreeMap<>();
        for (IoasidDTO d : space.ids(g.set, Integer.MAX_VALUE)) {
            if (!IoasidState.FREE_PENDING.name().equals(d.state)) {
                bySpid.put(d.spid == Ioasid.INVALID ? d.id : d.spid, d.id);
            }
        }
        return bySpid;
    }

    @Override
    public ClaimDTO claim(String session, int[] spids) {
        Guest g = guest(session);
        if (spids == null) {
            throw new IoasidException(Errno.EINVAL, "no SPID list");
        }
        BitSet wanted = new BitSet();
        for (int s : spids) {
            if (s < 1 || s > Ioasid.MAX_ID) {
                throw new IoasidException(Errno.EINVAL, "SPID " + s + " is outside [1, "
                        + Ioasid.MAX_ID + "]");
            }
            if (wanted.get(s)) {
                throw new IoasidException(Errno.EINVAL, "SPID " + s + " is listed twice");
            }
            wanted.set(s);
        }
        synchronized (g) {
            checkCurrent(g, session);
            Map<Integer, Integer> held = heldIds(g);
            List<Integer> released = new ArrayList<>();
            for (Map.Entry<Integer, Integer> e : held.entrySet()) {
                if (!wanted.get(e.getKey())) {
                    freeOwn(g, space.find(g.set, e.getValue()));
                    released.add(e.getKey());
                }
            }
            List<Integer> claimed = new ArrayList<>();
            List<Integer> lost = new ArrayList<>();
            for (int s = wanted.nextSetBit(0); s >= 0; s = wanted.nextSetBit(s + 1)) {
                if (!g.revoked.contains(s) && (held.containsKey(s) || reclaim(g, s))) {
                    claimed.add(s);
                } else {
                    lost.add(s);
                }
            }
            g.revoked.clear(); // reported now, or no longer listed by the guest
            ClaimDTO dto = new ClaimDTO();
            dto.claimed = toArray(claimed);
            dto.lost = toArray(lost);
            dto.released = toArray(released);
            return dto;
        }
    }

    /** Allocates the host ID equal to the SPID again; false when it is not to be had. */
    private boolean reclaim(Guest g, int spid) {
        IoasidHandle h;
        try {
            h = space.alloc(g.set, spid, spid, null);
        } catch (IoasidException e) {
            return false; // another guest holds it, or the quota is spent
        }
        try {
            space.attachSpid(h, spid);
            return true;
        } catch (IoasidException e) {
            freeOwn(g, h);
            return false;
        }
    }

    @Override
    public void listen(String session, String endpoint) {
        Guest g = guest(session);
        Matcher m = endpoint == null ? null : ENDPOINT.matcher(endpoint);
        if (m == null || !m.matches() || Integer.parseInt(m.group(2)) > 65535) {
            throw new IoasidException(Errno.EINVAL, "listener endpoint '" + endpoint
                    + "' is not tcp://host:port");
        }
        if (!listenerHosts.contains(m.group(1)) && !listenerHosts.contains("*")) {
            throw new IoasidException(Errno.EINVAL, "listener host " + m.group(1) + " is not "
                    + "allowed: this host's listener.hosts is " + listenerHosts);
        }
        synchronized (g) {
            checkCurrent(g, session);
            Imported imported = imports.open(endpoint);
            if (g.listener != null) {
                g.listener.close();
            }
            g.listener = imported;
        }
    }

    @Override
    public void close(String session) {
        Guest g = guest(session);
        synchronized (g) {
            if (session.equals(g.session)) {
                endSession(g);
            } else {
                sessions.remove(session);
            }
        }
    }

    /** Ends the guest's session, if any, and lets its listener go. Under g's lock. */
    private void endSession(Guest g) {
        if (g.session != null) {
            sessions.remove(g.session);
            g.session = null;
        }
        if (g.listener != null) {
            Imported l = g.listener;
            g.listener = null;
            post(l::close); // after any notice already queued for it
        }
    }

    /** Queues a notice for the guest's listener, if it gave one. Under g's lock. */
    private void tell(Guest g, String what, java.util.function.Consumer<GuestListener> notice) {
        Imported l = g.listener;
        if (l == null) {
            return;
        }
        post((Notice) () -> {
            try {
                notice.accept(l.listener());
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.INFO, "ioasid.remote: host: the notice " + what
                        + " did not reach guest " + g.name + " (" + e.getMessage()
                        + "); it learns at its next reconcile");
            }
        });
    }

    private void post(Runnable r) {
        try {
            notices.execute(r);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            if (!(r instanceof Notice)) {
                r.run(); // a close, while the role stops
            }
        }
    }

    /** Lets every guest's listener go: the host role stops. */
    void shutdown() {
        for (Guest g : guests.values()) {
            synchronized (g) {
                if (g.listener != null) {
                    post(g.listener::close);
                    g.listener = null;
                }
            }
        }
    }

    // ---- the host operator's commands (remote:export, import, resume, release, revoke)

    /** A guest this host admits, made known here if it was not; ENOENT naming the others. */
    private Guest admitted(String name) {
        checkAdmitted(name);
        return guests.computeIfAbsent(name, Guest::new);
    }

    private void checkAdmitted(String name) {
        if (!secrets.names().contains(name)) {
            throw new IoasidException(Errno.ENOENT, "no guest " + name + " on this host (guests: "
                    + String.join(", ", secrets.names()) + ")");
        }
    }

    /**
     * An admitted guest with a set here: one that connected or was imported since this service
     * started, or whose set an earlier start of the host role left in the space (found by its
     * token); ENOENT otherwise, and nothing changed.
     */
    private Guest known(String name) {
        Guest g = guests.get(name);
        if (g != null && g.set != null && g.set.state() == SetState.ACTIVE) {
            return g;
        }
        checkAdmitted(name);
        IoasidSet set;
        try {
            set = setOf(name);
        } catch (IoasidException e) {
            set = null;
        }
        if (set == null) {
            throw noSet(name);
        }
        g = guests.computeIfAbsent(name, Guest::new);
        synchronized (g) {
            if (g.set == null || g.set.state() != SetState.ACTIVE) {
                g.set = set;
            }
        }
        return g;
    }

    private static IoasidException noSet(String name) {
        return new IoasidException(Errno.ENOENT, "guest " + name + " has no set on this host");
    }

    /**
     * Takes the guest's set for a migration and freezes the guest here: its session ends (its
     * listener is told) and new ones are refused with EBUSY until {@link #release} or
     * {@link #resume}. Exporting a frozen guest again gives the same state.
     */
    SetExportDTO export(String name) {
        Guest g = known(name);
        synchronized (g) {
            if (g.set == null || g.set.state() != SetState.ACTIVE) {
                throw noSet(g.name);
            }
            SetExportDTO state = space.exportSet(g.set);
            if (!g.exported) {
                // the session stays known, so that its calls learn of the move (EBUSY)
                g.exported = true;
                saveFrozen();
                String session = g.session;
                tell(g, "ended", l -> l.ended(session, "the host exported this guest's set for "
                        + "a migration: point the guest at its new host"));
            }
            return state;
        }
    }

    /** Undoes an export the other host could not import: the guest may open sessions again. */
    void resume(String name) {
        Guest g = known(name);
        synchronized (g) {
            if (!g.exported) {
                throw new IoasidException(Errno.EINVAL, "guest " + name + "'s set was not "
                        + "exported");
            }
            g.exported = false;
            saveFrozen();
        }
    }

    /**
     * Forgets a guest as a restarted host would: ends its session (its listener is told), frees
     * its IDs and its set. After an export, this is the last step of the migration here.
     *
     * @return how many IDs were freed
     */
    int release(String name) {
        Guest g = known(name);
        synchronized (g) {
            if (g.set == null || g.set.state() != SetState.ACTIVE) {
                throw noSet(g.name);
            }
            String session = g.session;
            tell(g, "ended", l -> l.ended(session, "the host's operator released this guest"));
            endSession(g);
            int n = 0;
            for (int id : heldIds(g).values()) {
                freeOwn(g, space.find(g.set, id));
                n++;
            }
            space.freeSet(g.set, owner);
            g.set = null;
            g.exported = false;
            saveFrozen();
            g.revoked.clear();
            return n;
        }
    }

    /**
     * Takes IDs away from a guest, all or none; its listener is told, and the guest loses them
     * (rule 6).
     */
    void revoke(String name, int[] spids) {
        Guest g = known(name);
        synchronized (g) {
            if (g.set == null || g.set.state() != SetState.ACTIVE) {
                throw noSet(g.name);
            }
            Map<Integer, Integer> held = heldIds(g);
            BitSet seen = new BitSet();
            for (int s : spids) {
                if (s < 1 || s > Ioasid.MAX_ID) {
                    throw new IoasidException(Errno.EINVAL, "SPID " + s + " is outside [1, "
                            + Ioasid.MAX_ID + "]");
                }
                if (!held.containsKey(s) || seen.get(s)) {
                    throw new IoasidException(Errno.ENOENT, "guest " + name + " holds no SPID "
                            + s + (seen.get(s) ? " twice" : ""));
                }
                seen.set(s);
            }
            for (int s : spids) {
                freeOwn(g, space.find(g.set, held.get(s)));
                g.revoked.add(s);
            }
            int[] sorted = seen.stream().toArray();
            String session = g.session;
            tell(g, "revoked", l -> l.revoked(session, sorted, "revoked by the host's "
                    + "operator"));
        }
    }

    /**
     * Recreates an exported guest set here, keeping every SPID (D36); the guest's session finds
     * it by its token. EINVAL for a set that is not of a guest this host admits, EEXIST when the
     * guest has a set here already; otherwise as {@link IoasidService#importSet}.
     */
    IoasidSet importGuest(SetExportDTO state) {
        if (state == null || !TokenType.NONE.name().equals(state.tokenType)
                || state.token == null || !state.token.startsWith(TOKEN_PREFIX)) {
            throw new IoasidException(Errno.EINVAL, "not a guest's set: its token must be "
                    + TOKEN_PREFIX + "<name>");
        }
        String name = state.token.substring(TOKEN_PREFIX.length());
        Guest g;
        try {
            g = admitted(name);
        } catch (IoasidException e) {
            throw new IoasidException(Errno.EINVAL, "the set is guest " + name + "'s, which this "
                    + "host does not admit: add it to guests= first");
        }
        synchronized (g) {
            if (g.set != null && g.set.state() == SetState.ACTIVE) {
                throw new IoasidException(Errno.EEXIST, "guest " + name + " has set "
                        + g.set.id() + " on this host already: remote:release " + name
                        + " first");
            }
            IoasidSet set = space.importSet(state, state.token, owner);
            g.set = set;
            g.exported = false;
            saveFrozen();
            g.revoked.clear();
            return set;
        }
    }

    /** Frees an ID of the guest's set on the guest's or the operator's behalf. */
    private void freeOwn(Guest g, IoasidHandle h) {
        int id = h.id();
        g.ownFrees.add(id);
        try {
            space.free(h);
        } catch (RuntimeException e) {
            g.ownFrees.remove(id);
            throw e;
        }
    }

    /**
     * A FREE in the host's space (rule 8): one of a guest's IDs freed by anyone but this service
     * (the host's console, an allocator that left) is a revocation, told to the guest. Called
     * by the core's dispatcher, maybe while this service waits for the delivery under a guest's
     * lock: so it takes no lock, and the rest runs on the notice executor.
     */
    void freed(IoasidSet set, int id, int spid) {
        for (Guest g : guests.values()) {
            if (g.set == set) {
                if (!g.ownFrees.remove(id)) {
                    int s = spid == Ioasid.INVALID ? id : spid;
                    g.revoked.add(s); // at once: an allocation must not give it back meanwhile
                    post((Notice) () -> revokedOnHost(g, s));
                }
                return;
            }
        }
    }

    private void revokedOnHost(Guest g, int spid) {
        synchronized (g) {
            String session = g.session;
            LOG.log(System.Logger.Level.WARNING, "ioasid.remote: host: guest " + g.name
                    + "'s PASID " + spid + " was freed on the host; the guest loses it");
            tell(g, "revoked", l -> l.revoked(session, new int[] {spid}, "freed on the host"));
        }
    }

    /**
     * A session replaced while its call waited for the guest's lock is refused as unknown; the
     * session of a frozen guest gets EBUSY (rule 7).
     */
    private static void checkCurrent(Guest g, String session) {
        if (!session.equals(g.session)) {
            throw new IoasidException(Errno.EPERM, DENIED);
        }
        if (g.exported) {
            throw exported(g);
        }
    }

    private static int[] toArray(List<Integer> list) {
        return list.stream().mapToInt(Integer::intValue).toArray();
    }

    // ---- for the host's shell and the tests

    long epoch() {
        return epoch;
    }

    /** One line per admitted guest: its set, whether a session is open, how many IDs it holds. */
    List<String> describe() {
        List<String> lines = new ArrayList<>();
        for (String name : secrets.names()) {
            Guest g = guests.get(name);
            if (g == null) {
                lines.add(name + " - never connected");
                continue;
            }
            synchronized (g) {
                boolean live = g.set != null && g.set.state() == SetState.ACTIVE;
                int[] spids = live ? heldIds(g).keySet().stream().mapToInt(Integer::intValue)
                        .toArray() : new int[0];
                String list = spids.length <= LIST_MAX ? Arrays.toString(spids)
                        : Arrays.toString(Arrays.copyOf(spids, LIST_MAX)).replace("]", ", ...]");
                lines.add(name + " set " + (g.set == null ? "-" : g.set.id())
                        + (g.exported ? " exported" : g.session != null ? " session open"
                                : " no session")
                        + " held " + spids.length + " " + list);
            }
        }
        return lines;
    }
}
