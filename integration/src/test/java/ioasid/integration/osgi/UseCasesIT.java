package ioasid.integration.osgi;

import static ioasid.testkit.osgi.IoasidPlatform.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.Arrays;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.ExamFactory;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.ops4j.pax.exam.util.Filter;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * Seed 000's five use cases with the real bundles: the guest's IOASID service, a host space
 * standing for the hypervisor, and vIOMMU backends whose custom allocators reach it.
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class UseCasesIT {
    @Inject
    BundleContext ctx;

    @Inject
    ConfigurationAdmin ca;

    @Inject
    @Filter(IoasidPlatform.OWN_SPACE)
    IoasidService ioasid;

    @Configuration
    public Option[] config() {
        return new Option[] {IoasidOptions.platform(), IoasidOptions.backends()};
    }

    private AllocatorDTO[] allocators() {
        return ioasid.allocators();
    }

    private long active() {
        return Arrays.stream(allocators()).filter(a -> a.state.equals(AllocatorDTO.ACTIVE))
                .count();
    }

    /** A guest VT-d vIOMMU: caching mode and virtual commands, so its allocator is registered. */
    private void guestVtd(String name) throws Exception {
        Configs.vtd(name, name + "-nic;pasid=20").cachingMode(true).vcmd(true).vcmdVm("vm0")
                .create(ca);
    }

    @Test
    public void nativeUsesTheDefaultAllocator() {
        IoasidSet s = ioasid.createSet(TokenType.MM, "process-1", 100);
        assertEquals(1, ioasid.alloc(s, 1, 1000, null).id());
        assertEquals(2, ioasid.alloc(s, 1, 1000, null).id());
        assertEquals(0, allocators().length);
        IdSpaceDTO space = ioasid.idSpaces()[0];
        assertTrue(space.isDefault && space.active);
        assertEquals(2, space.live);
    }

    @Test
    public void oneViommuAllocatesOnTheHost() throws Exception {
        Configs.host().create(ca);
        IoasidService host = IoasidPlatform.hostSpace(ctx);
        host.alloc(host.createSet(TokenType.NONE, "host-native", 10), 1, 100, null); // host ID 1
        guestVtd("dmar-g0");
        await("the VCMD allocator to become active", () -> active() == 1);
        IoasidSet gset = ioasid.createSet(TokenType.MM, "guest-process", 10);
        IoasidHandle g = ioasid.alloc(gset, 1, 0xFFFFF, null);
        assertEquals("the guest's PASID is the host's lowest free", 2, g.id());
        IoasidSet vm = host.findSet(TokenType.NONE, "vcmd:vm0");
        assertEquals(1, vm.size());
        assertEquals(IoasidState.IDLE, host.find(vm, 2).state());
        ioasid.free(g);
        assertEquals("freed through to the host", 0, vm.size());
    }

    @Test
    public void twoViommusShareOneSpace() throws Exception {
        Configs.host().create(ca);
        IoasidService host = IoasidPlatform.hostSpace(ctx);
        guestVtd("dmar-g0");
        guestVtd("dmar-g1");
        await("two VCMD allocators", () -> allocators().length == 2 && active() == 1);
        AllocatorDTO[] a = allocators();
        assertEquals(a[0].idSpace, a[1].idSpace);
        assertTrue(Arrays.stream(a).anyMatch(x -> x.state.equals(AllocatorDTO.SHARING)));
        assertEquals("default and one shared group", 2, ioasid.idSpaces().length);
        IoasidSet gset = ioasid.createSet(TokenType.NONE, "g", 10);
        ioasid.alloc(gset, 1, 0xFFFFF, null);
        ioasid.alloc(gset, 1, 0xFFFFF, null);
        assertEquals(2, host.findSet(TokenType.NONE, "vcmd:vm0").size());
    }

    @Test
    public void twoViommusWithGuestWideIds() throws Exception {
        Configs.host().create(ca);
        IoasidPlatform.hostSpace(ctx);
        for (String name : new String[] {"virtio-a", "virtio-b"}) {
            Configs.virtio(name, name + "-ep;sid=0x1").pasidAllocator("host-private")
                    .pasidVmToken(name).hostTarget("(ioasid.role=host)").create(ca);
        }
        await("two private allocators", () -> allocators().length == 2 && active() == 1);
        assertEquals("default and two separate spaces", 3, ioasid.idSpaces().length);
        assertTrue(Arrays.stream(allocators()).anyMatch(x -> x.state.equals(AllocatorDTO.STANDBY)));
        IoasidSet gset = ioasid.createSet(TokenType.NONE, "g", 10);
        assertEquals(1, ioasid.alloc(gset, 1, 0xFFFFF, null).id());
    }

    @Test
    public void hotPlugRevokesThenReturns() throws Exception {
        Configs.host().create(ca);
        IoasidService host = IoasidPlatform.hostSpace(ctx);
        guestVtd("dmar-g0");
        await("the VCMD allocator", () -> active() == 1);
        IoasidSet gset = ioasid.createSet(TokenType.NONE, "g", 10);
        IoasidHandle idle = ioasid.alloc(gset, 1, 0xFFFFF, null);
        IoasidHandle held = ioasid.alloc(gset, 1, 0xFFFFF, null);
        ioasid.get(held);
        Bundle vtd = IoasidPlatform.bundle(ctx, "backend.vtd");
        vtd.stop(); // hot-unplug of the vIOMMU with IDs outstanding
        await("the allocator to leave", () -> allocators().length == 0);
        assertEquals("D7: both revoked, none orphaned", 2, ioasid.stats().revoked);
        assertEquals(IoasidState.FREE, idle.state());
        assertEquals(IoasidState.FREE_PENDING, held.state());
        assertTrue(held.revoked());
        assertTrue(ioasid.idSpaces()[0].active);
        ioasid.put(held);
        assertEquals(IoasidState.FREE, held.state());
        vtd.start(); // the vIOMMU comes back
        await("the allocator to return", () -> active() == 1);
        assertEquals("owed IDs went back to the host", 0, host.findSet(TokenType.NONE, "vcmd:vm0")
                .size());
        assertFalse(ioasid.idSpaces()[0].active);
        ioasid.alloc(gset, 1, 0xFFFFF, null);
    }
}
