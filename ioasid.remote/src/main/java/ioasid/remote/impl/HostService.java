package ioasid.remote.impl;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

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
import ioasid.api.remote.ClaimDTO;
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
 */
public final class HostService implements HostIoasidService {
    static final String DENIED = "access denied";
    static final String TOKEN_PREFIX = "guest:";
    /** How many SPIDs of a guest the host's shell lists before "...". */
    static final int LIST_MAX = 64;

    private final IoasidService space;
    private final GuestSecrets secrets;
    private final int quota;
    private final long epoch;
    private final SetOwner owner = new SetOwner("ioasid.remote");
    private final SecureRandom random = new SecureRandom();
    private final Map<String, Guest> sessions = new ConcurrentHashMap<>();
    private final Map<String, Guest> guests = new ConcurrentHashMap<>();

    /** A guest known to this host: its set, and its session while one is open. */
    static final class Guest {
        final String name;
        IoasidSet set;
        String session;

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

    @Override
    public SessionDTO open(String guest, String secret) {
        if (!secrets.accepts(guest, secret)) {
            throw new IoasidException(Errno.EPERM, DENIED);
        }
        Guest g = guests.computeIfAbsent(guest, Guest::new);
        synchronized (g) {
            IoasidSet set = guestSet(g);
            if (g.session != null) {
                sessions.remove(g.session);
            }
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

    /** The guest's set: the one it had, found again by token, or a new one. */
    private IoasidSet guestSet(Guest g) {
        if (g.set != null && g.set.state() == SetState.ACTIVE) {
            return g.set;
        }
        String token = TOKEN_PREFIX + g.name;
        try {
            g.set = space.findSet(TokenType.NONE, token);
        } catch (IoasidException e) {
            if (e.errno() != Errno.ENOENT) {
                throw e;
            }
            g.set = space.createSet(TokenType.NONE, token, quota, owner);
        }
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
        guest(session);
        return epoch;
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
                    space.attachSpid(h, h.id());
                    return h.id();
                } catch (IoasidException e) {
                    // the SPID is another ID's (the set was given new host IDs): try the next
                    space.free(h);
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
            space.free(h);
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
                    space.free(space.find(g.set, e.getValue()));
                    released.add(e.getKey());
                }
            }
            List<Integer> claimed = new ArrayList<>();
            List<Integer> lost = new ArrayList<>();
            for (int s = wanted.nextSetBit(0); s >= 0; s = wanted.nextSetBit(s + 1)) {
                if (held.containsKey(s) || reclaim(g, s)) {
                    claimed.add(s);
                } else {
                    lost.add(s);
                }
            }
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
            space.free(h);
            return false;
        }
    }

    @Override
    public void close(String session) {
        Guest g = guest(session);
        synchronized (g) {
            if (session.equals(g.session)) {
                g.session = null;
            }
            sessions.remove(session);
        }
    }

    /** A session replaced while its call waited for the guest's lock is refused as unknown. */
    private static void checkCurrent(Guest g, String session) {
        if (!session.equals(g.session)) {
            throw new IoasidException(Errno.EPERM, DENIED);
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
                        + (g.session != null ? " session open" : " no session")
                        + " held " + spids.length + " " + list);
            }
        }
        return lines;
    }
}
