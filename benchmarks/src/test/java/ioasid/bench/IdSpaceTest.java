package ioasid.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import ioasid.api.IoasidException;

/**
 * The baselines must be correct for their figures to mean anything: each kind is driven by
 * seeded random operations and checked against a model (lowest free ID first, ID 0 never
 * given, freed IDs not found).
 */
class IdSpaceTest {

    @ParameterizedTest
    @EnumSource(IdSpace.Kind.class)
    void agreesWithTheModel(IdSpace.Kind kind) {
        long seed = 0x5eed + kind.ordinal();
        IdSpace space = kind.create();
        TreeSet<Integer> used = new TreeSet<>();
        Map<Integer, Object> handles = new HashMap<>();
        List<Integer> ids = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(seed);
        for (int step = 0; step < 20_000; step++) {
            int op = r.nextInt(10);
            if (op < 5) {
                int min = 1 + r.nextInt(300);
                int max = min + r.nextInt(300);
                Integer expect = lowestFree(used, min, max);
                if (expect == null) {
                    assertThrows(RuntimeException.class, () -> space.alloc(min, max),
                            "seed " + seed + " step " + step);
                    continue;
                }
                Object h = space.alloc(min, max);
                assertEquals(expect.intValue(), space.id(h), "seed " + seed + " step " + step);
                used.add(expect);
                handles.put(expect, h);
                ids.add(expect);
            } else if (op < 8 && !ids.isEmpty()) {
                int id = ids.remove(r.nextInt(ids.size()));
                Object h = handles.remove(id);
                space.free(h);
                used.remove(id);
                assertThrows(RuntimeException.class, () -> space.find(id));
                assertThrows(RuntimeException.class, () -> space.free(h), "double free");
            } else if (!ids.isEmpty()) {
                int id = ids.get(r.nextInt(ids.size()));
                assertSame(handles.get(id), space.find(id));
            }
        }
        assertThrows(RuntimeException.class, () -> space.find(0), "ID 0 is reserved");
    }

    private static Integer lowestFree(TreeSet<Integer> used, int min, int max) {
        for (int id = min; id <= max; id++) {
            if (!used.contains(id)) {
                return id;
            }
        }
        return null;
    }

    @ParameterizedTest
    @EnumSource(value = IdSpace.Kind.class, names = {"core", "concurrent", "direct"})
    void fillsTheWholeSpace(IdSpace.Kind kind) {
        IdSpace space = kind.create();
        for (int i = 1; i <= IdSpace.MAX; i++) {
            assertEquals(i, space.id(space.alloc(1, IdSpace.MAX)));
        }
        assertThrows(RuntimeException.class, () -> space.alloc(1, IdSpace.MAX));
    }

    @ParameterizedTest
    @EnumSource(IdSpace.Kind.class)
    void coreErrorsAreTyped(IdSpace.Kind kind) {
        IdSpace space = kind.create();
        Object h = space.alloc(1, 10);
        space.free(h);
        RuntimeException e = assertThrows(RuntimeException.class, () -> space.find(space.id(h)));
        if (kind == IdSpace.Kind.core) {
            assertEquals(IoasidException.class, e.getClass());
        }
    }
}
