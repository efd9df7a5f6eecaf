package ioasid.core.impl;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOSPC;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidState;
import ioasid.api.SetState;
import ioasid.api.TokenType;
import ioasid.api.dto.SetExportDTO;
import ioasid.api.dto.SetMemberDTO;

/*
 * The export of a set's state and the checks and placement of its import in another space: the
 * live migration of a guest's PASIDs (D36). IoasidCore calls it under its lock and records the
 * IDs itself; this class changes nothing but the DTOs it makes.
 *
 * Rules and decisions it enforces:
 *  - the SPID is what the guest sees, so every member keeps its SPID (rules 73, 75); a member
 *    without one travels with its own number as SPID, and SPIDs stay unique in the set (rule 73);
 *  - an ID free at the destination is taken again, the others get the lowest free IDs (D1);
 *  - FREE_PENDING members stay behind: they were freed, no new reference may be taken on them
 *    (rules 68, 70, D10), and only their last put is left to happen, at the source (rule 77);
 *  - references are the source's users' (rule 87) and do not travel: an imported ID is IDLE with
 *    its allocation reference, as after an allocation (rule 66);
 *  - tokens are unique within their type (D8), the quota is charged to the capacity (rule 62);
 *  - all or nothing: every check runs before the first change (D2).
 */
final class SetMigration {
    private SetMigration() {
    }

    private static IoasidException err(Errno errno, String message) {
        return new IoasidException(errno, message);
    }

    /** The state of a set; under the core lock, which keeps it consistent. */
    static SetExportDTO export(SetImpl s, IdBitmap bitmap, HandleImpl[] table, int bits) {
        if (s.state == SetState.FREED) {
            throw err(EINVAL, "set " + s.id + " was freed");
        }
        if (s.state == SetState.FREE_PENDING) {
            throw err(EBUSY, "set " + s.id + " is being freed");
        }
        List<SetMemberDTO> members = new ArrayList<>(s.size);
        List<HandleImpl> withoutSpid = new ArrayList<>();
        BitSet pending = new BitSet();
        BitSet exported = new BitSet();
        int seen = 0;
        for (int id = bitmap.nextSet(1); id >= 0 && seen < s.size; id = bitmap.nextSet(id + 1)) {
            HandleImpl h = table[id];
            if (h == null || h.set != s) {
                continue;
            }
            seen++;
            int w = h.word();
            IoasidState state = HandleImpl.state(w);
            if (state == IoasidState.FREE_PENDING) {
                pending.set(id);
            } else if (state != IoasidState.FREE) { // a last put under way: gone already
                SetMemberDTO m = new SetMemberDTO();
                m.id = id;
                m.spid = h.spidAcquire();
                m.state = state.name();
                m.refs = HandleImpl.refs(w);
                if (m.spid == Ioasid.INVALID) {
                    m.spid = id;
                    withoutSpid.add(h);
                }
                members.add(m);
                exported.set(id);
            }
        }
        for (HandleImpl h : withoutSpid) {
            HandleImpl other = s.spids == null ? null : s.spids.get(h.id);
            // only a member that travels can clash: FREE_PENDING and dying ones stay behind
            if (other != null && other != h && exported.get(other.id)) {
                throw err(EINVAL, "IOASID " + h.id + " has no SPID and its number is the SPID of"
                        + " IOASID " + other.id + " in set " + s.id
                        + ": attach a SPID to it before the export");
            }
        }
        SetExportDTO d = new SetExportDTO();
        d.format = SetExportDTO.FORMAT;
        d.setId = s.id;
        d.tokenType = s.type.name();
        d.token = s.token == null ? null : String.valueOf(s.token);
        d.owner = s.ownedBy == null ? null : s.ownedBy.label();
        d.quota = s.quota;
        d.idBits = bits;
        d.members = members.toArray(new SetMemberDTO[0]);
        d.freePendingIds = pending.stream().toArray();
        return d;
    }

    /** A state that passed the checks that need no lock. */
    static final class Plan {
        final TokenType type;
        final int quota;
        final int[] ids;
        final int[] spids;

        private Plan(TokenType type, int quota, int[] ids, int[] spids) {
            this.type = type;
            this.quota = quota;
            this.ids = ids;
            this.spids = spids;
        }
    }

    /** The checks of a state that need no lock: EINVAL for anything malformed. */
    static Plan check(SetExportDTO state, int maxId) {
        if (state == null) {
            throw err(EINVAL, "no set state");
        }
        if (state.format != SetExportDTO.FORMAT) {
            throw err(EINVAL, "set state format " + state.format + ", not "
                    + SetExportDTO.FORMAT);
        }
        TokenType type = tokenType(state.tokenType);
        SetMemberDTO[] members = state.members;
        if (members == null) {
            throw err(EINVAL, "set state without members");
        }
        if (state.quota < 1 || state.quota < members.length) {
            throw err(EINVAL, "quota " + state.quota + " for " + members.length + " members");
        }
        int[] ids = new int[members.length];
        int[] spids = new int[members.length];
        BitSet seenIds = new BitSet();
        BitSet seenSpids = new BitSet();
        for (int i = 0; i < members.length; i++) {
            SetMemberDTO m = members[i];
            if (m == null) {
                throw err(EINVAL, "member " + i + " is null");
            }
            if (m.id < 1 || m.id > maxId) {
                throw err(EINVAL, "member ID " + m.id + " not in [1, " + maxId + "]");
            }
            Attachments.checkSpid(m.spid);
            checkState(m);
            if (seenIds.get(m.id)) {
                throw err(EINVAL, "member ID " + m.id + " appears twice");
            }
            if (seenSpids.get(m.spid)) {
                throw err(EINVAL, "SPID " + m.spid + " appears twice");
            }
            seenIds.set(m.id);
            seenSpids.set(m.spid);
            ids[i] = m.id;
            spids[i] = m.spid;
        }
        return new Plan(type, state.quota, ids, spids);
    }

    private static TokenType tokenType(String name) {
        if (name != null) {
            for (TokenType t : TokenType.values()) {
                if (t.name().equals(name)) {
                    return t;
                }
            }
        }
        throw err(EINVAL, "unknown token type " + name);
    }

    private static void checkState(SetMemberDTO m) {
        boolean ok = IoasidState.IDLE.name().equals(m.state) ? m.refs == 1
                : IoasidState.ACTIVE.name().equals(m.state) && m.refs > 1;
        if (!ok) {
            throw err(EINVAL, "member " + m.id + ": state " + m.state + " with " + m.refs
                    + " references (only IDLE with 1 or ACTIVE with more travel)");
        }
    }

    /**
     * The IDs the members get here, under the core lock: the same where free, else the lowest
     * free (D1). Checks the token and the capacity too, so that creating the set cannot fail
     * after this; changes nothing.
     */
    static int[] place(Plan plan, Object token, SetRegistry sets, IdBitmap bitmap, int maxId) {
        if (token != null && sets.byToken(new TokenKey(plan.type, token)) != null) {
            throw err(EEXIST, "a " + plan.type + " set with token " + token + " exists");
        }
        if (plan.quota > sets.available()) {
            throw err(ENOSPC, "quota " + plan.quota + " exceeds the available capacity "
                    + sets.available());
        }
        int[] placed = new int[plan.ids.length];
        BitSet kept = new BitSet();
        for (int i = 0; i < placed.length; i++) {
            if (!bitmap.get(plan.ids[i])) {
                placed[i] = plan.ids[i];
                kept.set(plan.ids[i]);
            }
        }
        int cursor = 1;
        for (int i = 0; i < placed.length; i++) {
            if (placed[i] != 0) {
                continue;
            }
            int id = cursor > maxId ? -1 : bitmap.nextClear(cursor, maxId);
            while (id >= 0 && kept.get(id)) {
                id = id == maxId ? -1 : bitmap.nextClear(id + 1, maxId);
            }
            if (id < 0) {
                throw err(ENOSPC, "no room for " + placed.length + " IDs in [1, " + maxId
                        + "]");
            }
            placed[i] = id;
            cursor = id + 1;
        }
        return placed;
    }
}
