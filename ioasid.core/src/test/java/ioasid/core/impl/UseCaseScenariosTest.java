package ioasid.core.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.spi.IoasidAllocator;
import ioasid.api.spi.IoasidListener;
import ioasid.core.impl.IoasidFixture.Recorder;
import ioasid.core.impl.IoasidFixture.SpaceAllocator;
import ioasid.core.impl.IoasidFixture.SpaceAllocator.Helpers;
import ioasid.testkit.Expect;

/**
 * The five use cases of seed 000 (Jacob Pan, 2019): native; a guest with one vIOMMU; two vIOMMUs
 * sharing the host backend; two vIOMMUs with guest-wide IDs; hot-plug of a vIOMMU.
 */
class UseCaseScenariosTest {

    /**
     * The host side of a virtual command interface: a guest's allocation becomes a system-wide
     * PASID in the host's IOASID service, in the guest VM's set.
     */
    static final class HostChannel {
        final IoasidService host;
        final IoasidSet vmSet;
        final Map<Integer, IoasidHandle> granted = new ConcurrentHashMap<>();

        HostChannel(IoasidService host, IoasidSet vmSet) {
            this.host = host;
            this.vmSet = vmSet;
        }

        int alloc(int min, int max) {
            try {
                IoasidHandle h = host.alloc(vmSet, min, max, null);
                granted.put(h.id(), h);
                return h.id();
            } catch (ioasid.api.IoasidException e) {
                return Ioasid.INVALID;
            }
        }

        void free(int id) {
            IoasidHandle h = granted.remove(id);
            if (h != null) {
                host.free(h);
            }
        }

        @Override
        public String toString() {
            return "vcmd->host set " + vmSet.id();
        }
    }

    /** A vIOMMU's custom allocator: the helpers are the host channel, the instance is pdata. */
    static final class VcmdAllocator implements IoasidAllocator {
        final HostChannel channel;
        final String viommu;

        VcmdAllocator(HostChannel channel, String viommu) {
            this.channel = channel;
            this.viommu = viommu;
        }

        @Override
        public int alloc(int min, int max) {
            return channel.alloc(min, max);
        }

        @Override
        public void free(int id) {
            channel.free(id);
        }

        @Override
        public Object helpers() {
            return channel;
        }
    }

    @Test
    @DisplayName("use case 1 (native): the default allocator serves the IOMMU and device drivers")
    void native1() {
        IoasidFixture host = new IoasidFixture();
        Recorder iommu = new Recorder("iommu");
        host.register(iommu, Constants.SERVICE_RANKING, IoasidListener.PRIORITY_IOMMU);
        IoasidSet sva = host.core.createSet(TokenType.MM, "process-1", 1000);
        IoasidSet driver = host.core.createSet(TokenType.NONE, null, 100);
        IoasidHandle pasid = host.core.alloc(sva, 1, Ioasid.MAX_ID, "mm-1");
        IoasidHandle dma = host.core.alloc(driver, 1, Ioasid.MAX_ID, null);
        assertEquals(1, pasid.id());
        assertEquals(2, dma.id(), "one system-wide space across sets");
        assertTrue(host.core.idSpaces()[0].active);
        assertEquals(0, host.core.allocators().length);
        host.core.free(pasid);
        assertEquals(List.of("ALLOC 1", "ALLOC 2", "FREE 1"), iommu.seen());
        assertEquals(1, driver.size());
    }

    @Test
    @DisplayName("use case 2 (one vIOMMU): the guest's PASIDs are system-wide IDs from the host")
    void oneViommu() {
        IoasidFixture host = new IoasidFixture();
        IoasidSet vm = host.core.createSet(TokenType.NONE, "vm-1", 100);
        host.core.alloc(host.core.createSet(TokenType.NONE, "native", 10), 1, 10, null); // ID 1 on host
        IoasidFixture guest = new IoasidFixture();
        HostChannel channel = new HostChannel(host.core, vm);
        guest.register(new VcmdAllocator(channel, "viommu0"));
        IoasidSet gset = guest.core.createSet(TokenType.MM, "guest-process", 0);
        IoasidHandle g = guest.core.alloc(gset, 1, Ioasid.MAX_ID, null);
        assertEquals(2, g.id(), "the host's lowest free ID, not the guest's");
        IoasidHandle onHost = host.core.find(vm, 2);
        assertSame(vm, onHost.set());
        guest.core.free(g);
        assertEquals(Errno.ENOENT, Expect.errno(Errno.ENOENT, () -> host.core.find(null, 2)).errno(),
                "freed through to the host");
    }

    @Test
    @DisplayName("use case 3 (two vIOMMUs, shared backend): same helpers, one ID space, one host set")
    void twoViommusSharing() {
        IoasidFixture host = new IoasidFixture();
        IoasidSet vm = host.core.createSet(TokenType.NONE, "vm-1", 100);
        IoasidFixture guest = new IoasidFixture();
        HostChannel channel = new HostChannel(host.core, vm);
        long s0 = guest.register(new VcmdAllocator(channel, "viommu0"));
        long s1 = guest.register(new VcmdAllocator(channel, "viommu1"));
        assertEquals(2, guest.core.idSpaces().length, "default and one shared group");
        assertEquals(AllocatorDTO.ACTIVE, guest.core.allocators()[0].state);
        assertEquals(AllocatorDTO.SHARING, guest.core.allocators()[1].state);
        IoasidSet gset = guest.core.createSet(TokenType.NONE, "g", 0);
        IoasidHandle dev0 = guest.core.alloc(gset, 1, 100, "dev on viommu0");
        IoasidHandle dev1 = guest.core.alloc(gset, 1, 100, "dev on viommu1");
        assertNotEquals(dev0.id(), dev1.id());
        assertEquals(2, vm.size(), "both on the host, in the VM's set");
        assertTrue(s0 < s1);
    }

    @Test
    @DisplayName("use case 4 (two vIOMMUs, guest-wide IDs): separate spaces, one active at a time")
    void twoViommusGuestWide() {
        IoasidFixture guest = new IoasidFixture();
        Helpers space0 = new Helpers("viommu0-space", 100);
        Helpers space1 = new Helpers("viommu1-space", 5000);
        SpaceAllocator a0 = new SpaceAllocator(space0, "viommu0");
        long s0 = guest.register(a0);
        long s1 = guest.register(new SpaceAllocator(space1, "viommu1"));
        assertEquals(3, guest.core.idSpaces().length, "default and two groups");
        IoasidSet gset = guest.core.createSet(TokenType.NONE, "g", 0);
        IoasidHandle h = guest.core.alloc(gset, 1, Ioasid.MAX_ID, null);
        assertEquals(100, h.id(), "from viommu0's guest-wide space");
        assertEquals(AllocatorDTO.STANDBY,
                Arrays.stream(guest.core.allocators()).filter(a -> a.serviceId == s1).findFirst()
                        .orElseThrow().state);
        guest.core.free(h);
        guest.unregister(a0, s0);
        assertEquals(5000, guest.core.alloc(gset, 1, Ioasid.MAX_ID, null).id(),
                "viommu1's space takes over once viommu0's is empty and gone");
    }

    @Test
    @DisplayName("use case 5 (hot-plug): removing a vIOMMU falls back along the registration list; "
            + "shared IDs survive, unshared ones are revoked, none is orphaned")
    void hotPlug() {
        IoasidFixture host = new IoasidFixture();
        IoasidSet vm = host.core.createSet(TokenType.NONE, "vm-1", 100);
        IoasidFixture guest = new IoasidFixture();
        Recorder iommu = new Recorder("guest-iommu");
        guest.register(iommu);
        HostChannel channel = new HostChannel(host.core, vm);
        VcmdAllocator v0 = new VcmdAllocator(channel, "viommu0");
        VcmdAllocator v1 = new VcmdAllocator(channel, "viommu1");
        long s0 = guest.register(v0);
        long s1 = guest.register(v1);
        IoasidSet gset = guest.core.createSet(TokenType.NONE, "g", 0);
        IoasidHandle keep = guest.core.alloc(gset, 1, 100, null);
        guest.unregister(v0, s0); // hot-unplug viommu0: viommu1 shares the helpers
        assertEquals(IoasidState.IDLE, keep.state());
        assertEquals(1, vm.size());
        IoasidHandle more = guest.core.alloc(gset, 1, 100, null);
        guest.core.get(more);
        guest.unregister(v1, s1); // the last vIOMMU leaves with IDs out: revoked, not orphaned
        assertTrue(keep.revoked());
        assertEquals(IoasidState.FREE, keep.state());
        assertEquals(IoasidState.FREE_PENDING, more.state());
        assertEquals(2, guest.core.stats().revoked);
        assertEquals(2, iommu.count(ioasid.api.spi.EventType.FREE));
        guest.core.put(more);
        assertEquals(2, vm.size(), "host PASIDs wait for the channel to return");
        VcmdAllocator replug = new VcmdAllocator(channel, "viommu2");
        guest.register(replug);
        assertEquals(0, vm.size(), "owed IDs go back to the host when the helpers return");
        assertFalse(guest.core.idSpaces()[0].active, "the re-plugged vIOMMU is active");
    }
}
