package ioasid.core.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.dto.IoasidDTO;
import ioasid.api.dto.SetDTO;
import ioasid.api.dto.SetExportDTO;
import ioasid.api.dto.SetMemberDTO;

/**
 * Decision D36 under random sets, states and destination occupancy, checked against a model:
 * every SPID survives, an ID free at the destination is taken again and the others are the
 * lowest free (D1), no ID is in two sets, and quotas, sizes, SPID counts and live counts agree.
 * Replay a failure with {@code -Dmigration.seed=N}.
 */
class SetMigrationRandomTest {
    private static final int BITS = 12;
    private static final int MAX_ID = (1 << BITS) - 1;
    /** How often each outcome came up, so that the test shows it reached every one. */
    private final Map<String, Integer> outcomes = new java.util.TreeMap<>();

    private void saw(String outcome) {
        outcomes.merge(outcome, 1, Integer::sum);
    }

    @Test
    @DisplayName("D36, D1, rule 73: random sets move between spaces with every SPID kept")
    void randomMigrations() {
        long seed = Long.getLong("migration.seed", System.nanoTime());
        try {
            for (int round = 0; round < 40; round++) {
                round(new Random(seed + round));
            }
            System.out.println("migration outcomes: " + outcomes);
            assertEquals(List.of("ambiguous", "moved", "no capacity", "token taken"),
                    List.copyOf(outcomes.keySet()).stream().filter(k -> !k.equals("no room"))
                            .toList());
        } catch (AssertionError | RuntimeException e) {
            fail("seed " + seed + " (-Dmigration.seed=" + seed + "): " + e, e);
        }
    }

    private void round(Random rnd) {
        try (IoasidFixture src = new IoasidFixture(BITS, 10_000);
                IoasidFixture dst = new IoasidFixture(BITS, 10_000)) {
            // the destination: random occupancy by sets of its own
            int density = rnd.nextInt(101);
            IoasidSet own = dst.core.createSet(TokenType.NONE, "own", (1 << BITS) - 1 - rnd.nextInt(300));
            for (int id = 1; id <= MAX_ID && own.size() < own.quota(); id++) {
                if (rnd.nextInt(100) < density) {
                    dst.core.alloc(own, id, id, null);
                }
            }
            if (rnd.nextBoolean()) {
                dst.core.createSet(TokenType.NONE, "vm0", 1); // a token already in use
            }
            int sets = 1 + rnd.nextInt(6);
            for (int n = 0; n < sets; n++) {
                IoasidSet s = sourceSet(src, rnd, "vm" + n);
                SetExportDTO d;
                try {
                    d = src.core.exportSet(s);
                } catch (IoasidException e) {
                    assertEquals(Errno.EINVAL, e.errno(), e.toString());
                    assertTrue(ambiguous(src, s), "export refused only for an ambiguous set");
                    saw("ambiguous");
                    continue;
                }
                checkExport(src, s, d);
                move(dst, d);
            }
            checkCounts(src);
            checkCounts(dst);
        }
    }

    /** A set of random members: IDLE, ACTIVE or FREE_PENDING, with or without SPIDs. */
    private static IoasidSet sourceSet(IoasidFixture src, Random rnd, String token) {
        int n = rnd.nextInt(60);
        IoasidSet s = src.core.createSet(TokenType.NONE, token, n + 1 + rnd.nextInt(20));
        BitSet spids = new BitSet();
        for (int i = 0; i < n; i++) {
            int min = 1 + rnd.nextInt(MAX_ID);
            IoasidHandle h;
            try {
                h = src.core.alloc(s, min, MAX_ID, null);
            } catch (IoasidException e) {
                continue; // nothing free above min
            }
            if (rnd.nextInt(4) > 0) {
                int spid = rnd.nextInt(MAX_ID + 1);
                if (!spids.get(spid)) {
                    spids.set(spid);
                    src.core.attachSpid(h, spid);
                }
            }
            switch (rnd.nextInt(4)) {
                case 0 -> src.core.get(h); // ACTIVE
                case 1 -> {
                    src.core.get(h);
                    src.core.free(h); // FREE_PENDING
                }
                default -> { } // IDLE
            }
        }
        return s;
    }

    private static boolean ambiguous(IoasidFixture src, IoasidSet s) {
        Map<Integer, Integer> spidOf = new HashMap<>();
        for (IoasidDTO d : src.core.ids(s, Integer.MAX_VALUE)) {
            if (d.spid != Ioasid.INVALID && !d.state.equals("FREE_PENDING")) {
                spidOf.put(d.spid, d.id);
            }
        }
        for (IoasidDTO d : src.core.ids(s, Integer.MAX_VALUE)) {
            if (d.spid == Ioasid.INVALID && !d.state.equals("FREE_PENDING")
                    && spidOf.containsKey(d.id)) {
                return true;
            }
        }
        return false;
    }

    /** The export against the source: every live member, FREE_PENDING ones listed apart. */
    private static void checkExport(IoasidFixture src, IoasidSet s, SetExportDTO d) {
        List<String> live = new ArrayList<>();
        List<Integer> pending = new ArrayList<>();
        for (IoasidDTO m : src.core.ids(s, Integer.MAX_VALUE)) {
            if (m.state.equals("FREE_PENDING")) {
                pending.add(m.id);
            } else {
                live.add(m.id + ">" + (m.spid == Ioasid.INVALID ? m.id : m.spid) + " " + m.state);
            }
        }
        List<String> exported = new ArrayList<>();
        for (SetMemberDTO m : d.members) {
            exported.add(m.id + ">" + m.spid + " " + m.state);
        }
        assertEquals(live, exported);
        assertEquals(pending, java.util.Arrays.stream(d.freePendingIds).boxed().toList());
    }

    /** Imports and checks the placement against a model of the destination's free IDs. */
    private void move(IoasidFixture dst, SetExportDTO d) {
        BitSet used = new BitSet();
        used.set(0);
        for (IoasidDTO m : dst.core.ids(null, Integer.MAX_VALUE)) {
            used.set(m.id);
        }
        int available = dst.core.capacity().available;
        boolean tokenTaken = java.util.Arrays.stream(dst.core.sets())
                .anyMatch(s -> d.token.equals(s.token));
        int free = MAX_ID + 1 - used.cardinality();
        String before = dst.state();
        IoasidSet t;
        try {
            t = dst.core.importSet(d);
        } catch (IoasidException e) {
            assertEquals(before, dst.state(), "a failed import changes nothing");
            Errno expected = tokenTaken ? Errno.EEXIST : Errno.ENOSPC;
            assertEquals(expected, e.errno(), e.toString());
            assertTrue(tokenTaken || d.quota > available || d.members.length > free, e.toString());
            saw(tokenTaken ? "token taken" : d.quota > available ? "no capacity" : "no room");
            return;
        }
        assertTrue(!tokenTaken && d.quota <= available && d.members.length <= free);
        saw("moved");
        // the model: same ID where free, else the lowest free in the members' order
        BitSet taken = (BitSet) used.clone();
        for (SetMemberDTO m : d.members) {
            if (!used.get(m.id)) {
                taken.set(m.id);
            }
        }
        for (SetMemberDTO m : d.members) {
            int expected = m.id;
            if (used.get(m.id)) {
                expected = taken.nextClearBit(1);
                taken.set(expected);
            }
            IoasidHandle h = dst.core.findBySpid(t, m.spid, false);
            assertEquals(expected, h.id(), "SPID " + m.spid + " (was ID " + m.id + ")");
            assertEquals(1, h.refCount());
            assertEquals("IDLE", h.state().name());
        }
        assertEquals(d.members.length, t.size());
        assertEquals(d.quota, t.quota());
    }

    /** No ID in two sets; sizes, SPIDs, live count and capacity agree. */
    private static void checkCounts(IoasidFixture fx) {
        Map<Integer, int[]> perSet = new HashMap<>();
        BitSet ids = new BitSet();
        IoasidDTO[] all = fx.core.ids(null, Integer.MAX_VALUE);
        for (IoasidDTO m : all) {
            assertTrue(!ids.get(m.id), "ID " + m.id + " listed twice");
            ids.set(m.id);
            int[] c = perSet.computeIfAbsent(m.setId, k -> new int[2]);
            c[0]++;
            c[1] += m.spid == Ioasid.INVALID ? 0 : 1;
        }
        long quotas = 0;
        for (SetDTO s : fx.core.sets()) {
            int[] c = perSet.getOrDefault(s.id, new int[2]);
            assertEquals(c[0], s.size, "size of set " + s.id);
            assertEquals(c[1], s.spids, "SPIDs of set " + s.id);
            assertTrue(s.size <= s.quota, "set " + s.id + " within its quota");
            quotas += s.quota;
        }
        assertEquals(all.length, fx.core.stats().live);
        assertEquals(fx.core.capacity().capacity, quotas + fx.core.capacity().available);
    }
}
