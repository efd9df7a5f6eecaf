package ioasid.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each benchmark's setup, operation and self-check run outside JMH, briefly, so that a broken
 * benchmark fails the build rather than the first person who runs it.
 */
class BenchmarksRunTest {

    @ParameterizedTest
    @EnumSource(IdSpace.Kind.class)
    void allocFreeAndFind(IdSpace.Kind kind) {
        AllocFreeBench a = new AllocFreeBench();
        a.impl = kind;
        a.live = 1000;
        a.setUp();
        for (int i = 0; i < 1000; i++) {
            a.cycle();
            a.churn();
        }
        FindBench f = new FindBench();
        f.impl = kind;
        f.live = 1000;
        f.setUp();
        for (int i = 0; i < 1000; i++) {
            assertNotNull(f.find());
        }
    }

    @ParameterizedTest
    @EnumSource(IdSpace.Kind.class)
    void twoThreads(IdSpace.Kind kind) {
        TwoThreadsBench b = new TwoThreadsBench();
        TwoThreadsBench.Allocating a = new TwoThreadsBench.Allocating();
        a.impl = kind;
        a.setUp();
        for (int i = 0; i < 100; i++) {
            b.allocFree1k(a);
            b.allocFree1kOneThread(a);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"core", "copyOnWrite", "locked"})
    void dispatchReachesAllThreeInOrder(String impl) {
        DispatchBench d = new DispatchBench();
        d.impl = impl;
        d.setUp();
        for (int i = 0; i < 100; i++) {
            d.dispatch();
        }
        d.check();
    }

    @Test
    void dispatchCheckFailsWhenNothingArrived() {
        DispatchBench d = new DispatchBench();
        d.impl = "core";
        d.setUp();
        assertThrows(IllegalStateException.class, d::check);
    }

    @ParameterizedTest
    @ValueSource(strings = {"empty", "halfFull"})
    void migration(String destination) {
        MigrationBench m = new MigrationBench();
        m.destination = destination;
        m.setUp();
        for (int i = 0; i < 2; i++) {
            m.exportImport();
            m.check();
        }
        m.close();
    }

    @Test
    void migrationCheckFailsWhenNothingMoved() {
        MigrationBench m = new MigrationBench();
        m.destination = "empty";
        m.setUp();
        assertThrows(IllegalStateException.class, m::check);
        m.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"shared", "departing", "rebuild"})
    void allocatorSwitch(String impl) {
        SwitchBench s = new SwitchBench();
        s.impl = impl;
        s.setUp();
        s.unplug();
        s.check();
    }

    @Test
    void switchCheckFailsWhenTheAllocatorStayed() {
        SwitchBench s = new SwitchBench();
        s.impl = "shared";
        s.setUp();
        assertThrows(IllegalStateException.class, s::check);
    }

    @Test
    void unknownImplementationsAreRefused() {
        SwitchBench s = new SwitchBench();
        s.impl = "nonesuch";
        assertThrows(IllegalArgumentException.class, s::setUp);
        MapBench m = new MapBench();
        m.impl = "nonesuch";
        assertThrows(IllegalArgumentException.class, m::setUp);
        DispatchBench d = new DispatchBench();
        d.impl = "nonesuch";
        assertThrows(IllegalArgumentException.class, d::setUp);
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd", "hashmap", "concurrent"})
    void mapUnmapAndTranslate(String impl) {
        MapBench m = new MapBench();
        m.impl = impl;
        m.setUp();
        for (int i = 0; i < 200; i++) {
            assertEquals(MapBench.PAGE, m.mapUnmap());
            long pa = m.iovaToPhys();
            assertTrue(pa >= MapBench.PHYS && pa < MapBench.PHYS + MapBench.RESIDENT
                    * MapBench.PAGE, impl + " translated to " + Long.toHexString(pa));
        }
        m.tearDown();
    }

    @Test
    void footprintCountsTheHandles() {
        double core = Footprint.bytesPerId(IdSpace.Kind.core);
        // a handle and its table slot at the least; far less than a boxed map entry
        assertTrue(core >= 20 && core < 100, core + " bytes per ID");
    }
}
