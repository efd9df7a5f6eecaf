package ioasid.bench.scale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ioasid.api.iommu.dto.BackendDTO;

/**
 * The scale scenario at a hundredth of its size, for its invariants only: every instance
 * serves, every UNBIND of a leaving instance is delivered, nothing it had stays attached.
 */
class ScaleScenarioTest {

    @Test
    void smallFleetKeepsItsInvariants() throws Exception {
        ScaleScenario.Result r = ScaleScenario.run(100, 4, 1000, 300, 3, 3, 1, false);
        assertEquals(3, r.addMs().size());
        assertEquals(3, r.removeMs().size());
        assertEquals(3, r.leaveMs().size());
        assertEquals(900, r.leaveWanted());
        assertEquals(r.leaveWanted(), r.leaveUnbinds(), "every UNBIND delivered");
        // the 1000 PASIDs of the fleet stay, each attached on one device; the leavers' are gone
        assertEquals(1000, r.attachedAfterLeave());
    }

    @Test
    void everyInstanceServesAndLeavesNothingAttached() {
        try (Fleet fleet = new Fleet(4, 10_000)) {
            Fleet.Instance[] all = new Fleet.Instance[6];
            for (int i = 0; i < all.length; i++) {
                all[i] = fleet.create(i);
                fleet.bind(all[i]);
            }
            assertEquals(6, fleet.iommu().backends().length);
            for (BackendDTO b : fleet.iommu().backends()) {
                assertEquals(4, b.devices.length, b.name);
            }
            fleet.attach(all[0], 10);
            fleet.attach(all[1], 7);
            assertEquals(17, fleet.binds());
            assertEquals(17, fleet.attachedInCore());
            assertEquals(10, fleet.watch(all[0]));
            fleet.unbind(all[0]);
            assertEquals(10, fleet.watchedUnbinds());
            assertEquals(7, fleet.attachedInCore());
            fleet.churn(all[1], 3);
            assertEquals(18, fleet.binds());
            assertEquals(7, fleet.attachedInCore());
        }
    }

    @Test
    void instanceFilesParseAsTheRuntimeReadsThem(@TempDir Path dir) throws Exception {
        for (int i = 0; i < 3; i++) {
            StartScenario.write(dir, i, 2);
        }
        String vtd = Files.readString(dir.resolve("ioasid.backend.vtd-scale-dmar1.config"));
        assertTrue(vtd.contains("\"0002:01:01.0;pasid=20\""), vtd);
        assertTrue(Files.exists(dir.resolve("ioasid.backend.smmuv3-scale-smmu0.config")));
        assertTrue(Files.exists(dir.resolve("ioasid.backend.virtio-scale-viommu2.config")));
    }
}
