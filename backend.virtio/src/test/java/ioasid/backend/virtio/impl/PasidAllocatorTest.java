package ioasid.backend.virtio.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.dto.AllocatorDTO;
import ioasid.backend.virtio.impl.VirtioIommuParams.PasidMode;
import ioasid.core.impl.IoasidCore;
import ioasid.testkit.Expect;

/**
 * Guest PASIDs from the host (seed 000's use cases 3-5): each virtio-iommu's allocator is wired
 * into a guest IoasidCore the way SCR would, and allocates through its host channel in the VM's
 * set of a host IoasidCore.
 */
class PasidAllocatorTest {
    private static final AtomicLong SERVICE_IDS = new AtomicLong(1000);

    private final IoasidCore host = new IoasidCore(20, 10_000);
    private final IoasidCore guest = new IoasidCore(20, 10_000);
    private final HostChannels channels = new HostChannels();
    private final Map<HostPasidAllocator, Map<String, Object>> bound = new HashMap<>();

    @AfterEach
    void close() {
        guest.close();
        host.close();
    }

    private VirtioIommuBackend viommu(String name, PasidMode mode, String channel) {
        VirtioIommuBackend b = new VirtioIommuBackend(VirtioIommuParams.defaults(name)
                .devices(name + "-dev;sid=0x8").pasid(mode, channel, "vm-1", 100), channels);
        b.bindHost(host);
        return b;
    }

    /** Binds the instance's allocator into the guest core as SCR would. */
    private long bind(VirtioIommuBackend b) {
        Map<String, Object> props = new HashMap<>();
        long sid = SERVICE_IDS.incrementAndGet();
        props.put(Constants.SERVICE_ID, sid);
        props.put(ioasid.api.spi.IoasidAllocator.NAME, "virtio-iommu " + b.driver().name());
        bound.put(b.pasidAllocator(), props);
        guest.bindAllocator(b.pasidAllocator(), props);
        return sid;
    }

    private void unbind(VirtioIommuBackend b) {
        guest.unbindAllocator(b.pasidAllocator(), bound.remove(b.pasidAllocator()));
    }

    private AllocatorDTO dto(long sid) {
        return Arrays.stream(guest.allocators()).filter(a -> a.serviceId == sid).findFirst()
                .orElseThrow();
    }

    @Test
    @DisplayName("seed 000 use case 3 / rule 17: two virtio-iommus on one host channel share the "
            + "helpers and one guest ID space; PASIDs are host IDs in the VM's set")
    void sharedChannel() {
        IoasidHandle nativeId = host.alloc(host.createSet(TokenType.NONE, "native", 10), 1, 10,
                null);
        VirtioIommuBackend v0 = viommu("viommu0", PasidMode.HOST_SHARED, "vm-1-channel");
        VirtioIommuBackend v1 = viommu("viommu1", PasidMode.HOST_SHARED, "vm-1-channel");
        assertSame(v0.pasidAllocator().helpers(), v1.pasidAllocator().helpers());
        assertNotSame(v0.pasidAllocator(), v1.pasidAllocator());
        assertEquals(2, channels.users("vm-1-channel"));
        long s0 = bind(v0);
        long s1 = bind(v1);
        assertEquals(2, guest.idSpaces().length, "the default space and one shared group");
        assertEquals(AllocatorDTO.ACTIVE, dto(s0).state);
        assertEquals(AllocatorDTO.SHARING, dto(s1).state);
        IoasidSet g = guest.createSet(TokenType.MM, "guest-process", 0);
        IoasidHandle a = guest.alloc(g, 1, Ioasid.MAX_ID, "dev on viommu0");
        IoasidHandle b = guest.alloc(g, 1, Ioasid.MAX_ID, "dev on viommu1");
        assertEquals(nativeId.id() + 1, a.id(), "the host's lowest free ID, not the guest's");
        assertNotEquals(a.id(), b.id());
        IoasidSet vm = host.findSet(TokenType.NONE, "vm-1");
        assertEquals(2, vm.size());
        assertSame(vm, host.find(null, a.id()).set());
        guest.free(a);
        assertEquals(1, vm.size(), "freed back to the host");
        Expect.errno(Errno.ENOENT, () -> host.find(null, a.id()));
        assertEquals(List.of("viommu0: alloc [1," + Ioasid.MAX_ID + "] -> 2",
                "viommu0: alloc [1," + Ioasid.MAX_ID + "] -> 3", "viommu0: free 2"),
                v0.pasidAllocator().channel.calls(), "calls go to the group's first member");
    }

    @Test
    @DisplayName("seed 000 use case 5 / rule 25: hot-unplugging one shared virtio-iommu keeps the "
            + "outstanding IDs; the other serves and frees them")
    void hotUnplugShared() {
        VirtioIommuBackend v0 = viommu("viommu0", PasidMode.HOST_SHARED, "ch");
        VirtioIommuBackend v1 = viommu("viommu1", PasidMode.HOST_SHARED, "ch");
        bind(v0);
        long s1 = bind(v1);
        IoasidSet g = guest.createSet(TokenType.NONE, "g", 0);
        IoasidHandle keep = guest.alloc(g, 1, 100, null);
        unbind(v0);
        v0.close();
        assertEquals(IoasidState.IDLE, keep.state(), "not revoked");
        assertEquals(1, channels.users("ch"));
        assertEquals(AllocatorDTO.ACTIVE, dto(s1).state);
        IoasidSet vm = host.findSet(TokenType.NONE, "vm-1");
        assertEquals(1, vm.size());
        IoasidHandle more = guest.alloc(g, 1, 100, null);
        assertEquals(2, vm.size());
        guest.free(keep);
        guest.free(more);
        assertEquals(0, vm.size());
        assertTrue(v1.pasidAllocator().channel.calls().contains("viommu1: free " + keep.id()),
                "the survivor gives back an ID its peer allocated");
        v1.close();
        assertEquals(0, channels.users("ch"));
    }

    @Test
    @DisplayName("seed 000 use case 4 / rule 18: private channels are separate guest ID spaces; "
            + "the first stays active, the other stands by until it is empty and gone")
    void privateChannels() {
        VirtioIommuBackend v0 = viommu("viommu0", PasidMode.HOST_PRIVATE, "ignored");
        VirtioIommuBackend v1 = viommu("viommu1", PasidMode.HOST_PRIVATE, "ignored");
        assertNotSame(v0.pasidAllocator().helpers(), v1.pasidAllocator().helpers());
        assertEquals(0, channels.users("ignored"));
        long s0 = bind(v0);
        long s1 = bind(v1);
        assertEquals(3, guest.idSpaces().length, "default and two groups");
        assertEquals(AllocatorDTO.ACTIVE, dto(s0).state);
        assertEquals(AllocatorDTO.STANDBY, dto(s1).state);
        IoasidSet g = guest.createSet(TokenType.NONE, "g", 0);
        IoasidHandle h = guest.alloc(g, 1, Ioasid.MAX_ID, null);
        assertEquals(1, v0.pasidAllocator().channel.outstanding());
        assertEquals(0, v1.pasidAllocator().channel.outstanding());
        guest.free(h);
        unbind(v0);
        IoasidHandle next = guest.alloc(g, 1, Ioasid.MAX_ID, null);
        assertEquals(AllocatorDTO.ACTIVE, dto(s1).state);
        assertEquals(1, v1.pasidAllocator().channel.outstanding());
        assertSame(host.findSet(TokenType.NONE, "vm-1"), host.find(null, next.id()).set());
    }

    @Test
    @DisplayName("rule 20: with no host bound the allocator returns INVALID and the guest "
            + "allocation fails ENOSPC; once the host is bound it works")
    void noHost() {
        VirtioIommuBackend v = new VirtioIommuBackend(VirtioIommuParams.defaults("viommu0")
                .pasid(PasidMode.HOST_SHARED, "lonely", "vm-1", 100), channels);
        bind(v);
        IoasidSet g = guest.createSet(TokenType.NONE, "g", 0);
        Expect.errno(Errno.ENOSPC, () -> guest.alloc(g, 1, 100, null));
        assertEquals(List.of("viommu0: alloc [1,100] -> INVALID (no host)"),
                v.pasidAllocator().channel.calls());
        v.bindHost(host);
        IoasidHandle h = guest.alloc(g, 1, 100, null);
        assertEquals(1, host.findSet(TokenType.NONE, "vm-1").size());
        v.unbindHost(host);
        guest.free(h);
        assertEquals(0, host.findSet(TokenType.NONE, "vm-1").size(),
                "an ID goes back to the host that granted it, bound or not");
    }

    @Test
    @DisplayName("rule 20: a host that refuses (VM set quota exhausted) makes the allocation fail, "
            + "nothing granted")
    void hostRefuses() {
        host.createSet(TokenType.NONE, "vm-1", 1);
        VirtioIommuBackend v = viommu("viommu0", PasidMode.HOST_SHARED, "ch");
        bind(v);
        IoasidSet g = guest.createSet(TokenType.NONE, "g", 0);
        guest.alloc(g, 1, 100, null);
        Expect.errno(Errno.ENOSPC, () -> guest.alloc(g, 1, 100, null));
        assertEquals(1, v.pasidAllocator().channel.outstanding());
        assertTrue(v.pasidAllocator().channel.calls().get(1).endsWith("INVALID (ENOSPC)"));
    }

    @Test
    @DisplayName("rule 21: freeing an ID the channel never granted is logged and ignored; "
            + "pasid.allocator none builds no allocator")
    void strayFreeAndNone() {
        VirtioIommuBackend v = viommu("viommu0", PasidMode.HOST_SHARED, "ch");
        v.pasidAllocator().free(77);
        assertEquals(List.of("viommu0: free 77 (not granted here)"),
                v.pasidAllocator().channel.calls());
        VirtioIommuBackend none = viommu("viommu1", PasidMode.NONE, "ch");
        assertNull(none.pasidAllocator());
        assertNull(none.allocatorRegistration());
        assertEquals(1, channels.users("ch"));
        assertNotNull(v.pasidAllocator().toString());
    }

    @Test
    @DisplayName("D19: the VM's host set a channel creates is the bundle's own: freeing it "
            + "otherwise is EPERM and the guest goes on allocating from it")
    void vmSetIsOwned() {
        VirtioIommuBackend v0 = viommu("viommu0", PasidMode.HOST_SHARED, "ch-owned");
        bind(v0);
        IoasidSet g = guest.createSet(TokenType.NONE, "g", 0);
        guest.alloc(g, 1, 100, null);
        IoasidSet vm = host.findSet(TokenType.NONE, "vm-1");
        assertEquals("virtio-iommu", host.sets()[0].owner);
        Expect.errno(Errno.EPERM, () -> host.freeSet(vm));
        guest.alloc(g, 1, 100, null);
        assertEquals(2, vm.size());
    }
}
