package ioasid.core.impl;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.api.Errno.EPERM;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.SetOwner;
import ioasid.api.SetState;
import ioasid.api.TokenType;

/*
 * The sets of the IOASID core and the system capacity their quotas are drawn from.
 *
 * The core's invariant this class enforces (C1-C10, numbered with IoasidCore's):
 *  C9. A set charges its quota to the system capacity and gives it back when freed; a set that
 *     still holds IDs is freed with its last one.
 * Tokens are unique within their type and a quota of 0 takes all that is available (D8). A set
 * a platform component owns is freed by that owner alone, and set numbers are never reused, so
 * a number or an IoasidSet kept from a freed set can never reach a newer one (D19).
 *
 * Its state is guarded by the core lock. Finding sets and changing the capacity take the lock
 * here; creating and freeing a set run under the caller's lock, which also updates the set's
 * listener chain in the same hold.
 */
final class SetRegistry {
    private final CoreLock lock;
    private final int bits;
    private int capacity;
    private int available;
    private boolean capacityInstalled;
    private final Map<Integer, SetImpl> sets = new LinkedHashMap<>();
    /** The next set number; numbers are handed out once (D19), up to Integer.MAX_VALUE. */
    private long nextId;
    private final Map<TokenKey, SetImpl> setsByToken = new HashMap<>();

    SetRegistry(CoreLock lock, int bits) {
        this(lock, bits, 1);
    }

    /** A registry whose first set gets number {@code firstId}. */
    SetRegistry(CoreLock lock, int bits, int firstId) {
        this.lock = lock;
        this.bits = bits;
        this.capacity = this.available = 1 << bits;
        this.nextId = firstId;
    }

    private static IoasidException err(Errno errno, String message) {
        return new IoasidException(errno, message);
    }

    /** The checks of a new set that need no lock. */
    static void checkNew(TokenType type, Object token, int quota) {
        if (type == null) {
            throw err(EINVAL, "token type is null");
        }
        if (type == TokenType.MM && token == null) {
            throw err(EINVAL, "an MM set needs a token");
        }
        if (quota < 0) {
            throw err(EINVAL, "negative quota " + quota);
        }
    }

    /** Under the caller's lock. */
    SetImpl create(IoasidCore owner, TokenType type, Object token, int quota, SetOwner ownedBy) {
        TokenKey key = token == null ? null : new TokenKey(type, token);
        if (key != null && setsByToken.containsKey(key)) {
            throw err(EEXIST, "a " + type + " set with token " + token + " exists");
        }
        int q = quota == 0 ? available : quota;
        if (q == 0 || q > available) {
            throw err(ENOSPC, "quota " + q + " exceeds the available capacity " + available);
        }
        if (nextId > Integer.MAX_VALUE) {
            throw err(ENOSPC, "every set number up to " + Integer.MAX_VALUE + " has been used");
        }
        int id = (int) nextId++;
        SetImpl s = new SetImpl(owner, id, type, token, q, ownedBy);
        available -= q;
        sets.put(id, s);
        if (key != null) {
            setsByToken.put(key, s);
        }
        return s;
    }

    /**
     * Frees a set now, or marks it to go with its last ID; returns whether it went now. Under the
     * caller's lock.
     *
     * @param by the caller's owner object, null for a caller that owns nothing
     */
    boolean free(SetImpl s, SetOwner by) {
        if (s.state == SetState.FREED) {
            throw err(EINVAL, "set " + s.id + " was freed already");
        }
        if (s.ownedBy != null && s.ownedBy != by) {
            throw err(EPERM, "set " + s.id + " belongs to " + s.ownedBy.label()
                    + ", which alone may free it");
        }
        if (s.size > 0 || s.inFlight > 0) {
            s.state = SetState.FREE_PENDING; // rule 65: goes with its last ID
            return false;
        }
        finishFree(s);
        return true;
    }

    /** Under the caller's lock. */
    void finishFree(SetImpl s) {
        s.state = SetState.FREED;
        available += s.quota; // D9
        sets.remove(s.id);
        if (s.token != null) {
            setsByToken.remove(new TokenKey(s.type, s.token));
        }
    }

    SetImpl find(TokenType type, Object token) {
        if (type == null) {
            throw err(EINVAL, "token type is null");
        }
        lock.lock();
        try {
            SetImpl s = token == null ? null : setsByToken.get(new TokenKey(type, token));
            if (s == null) {
                throw err(ENOENT, "no " + type + " set with token " + token);
            }
            return s;
        } finally {
            lock.unlock();
        }
    }

    SetImpl find(int setId) {
        lock.lock();
        try {
            SetImpl s = sets.get(setId);
            if (s == null) {
                throw err(ENOENT, setId >= 1 && setId < nextId ? "set " + setId + " was freed"
                        : "no set " + setId);
            }
            return s;
        } finally {
            lock.unlock();
        }
    }

    /** The live set with this token, or null; under the caller's lock. */
    SetImpl byToken(TokenKey key) {
        return setsByToken.get(key);
    }

    /** The live sets, in creation order; under the caller's lock. */
    Collection<SetImpl> all() {
        return sets.values();
    }

    void installCapacity(int total) {
        if (total < 1 || total > 1 << bits) {
            throw err(EINVAL, "capacity " + total + " not in [1, " + (1 << bits) + "]");
        }
        lock.lock();
        try {
            if (capacityInstalled) {
                throw err(EBUSY, "IOASID capacity is already set to " + capacity);
            }
            if (available != capacity) {
                throw err(EBUSY, (capacity - available) + " of the capacity is reserved");
            }
            capacity = available = total;
            capacityInstalled = true;
        } finally {
            lock.unlock();
        }
    }

    int reserveCapacity(int n) {
        if (n < 0) {
            throw err(EINVAL, "negative amount " + n);
        }
        lock.lock();
        try {
            if (n > available) {
                throw err(ENOSPC, "cannot reserve " + n + ", " + available + " available");
            }
            int taken = n == 0 ? available : n;
            available -= taken;
            return taken;
        } finally {
            lock.unlock();
        }
    }

    int cancelCapacity(int n) {
        if (n < 0) {
            throw err(EINVAL, "negative amount " + n);
        }
        lock.lock();
        try {
            if ((long) n + available > capacity) {
                throw err(EINVAL, "returning " + n + " would exceed the capacity " + capacity);
            }
            available += n;
            return available;
        } finally {
            lock.unlock();
        }
    }

    /** Under the caller's lock. */
    int capacity() {
        return capacity;
    }

    /** Under the caller's lock. */
    int available() {
        return available;
    }
}
