package ioasid.backend.vtd.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.api.spi.IoasidAllocator;
import ioasid.core.impl.IoasidCore;
import ioasid.testkit.Expect;

/** The guest's PASID allocator over virtual commands: rules 30, 31, 97; known bugs 7 and 8. */
class VcmdAllocatorTest {
    private static final AtomicLong SERVICE_IDS = new AtomicLong(1000);

    /** The host's IOASID space, where every VM's PASIDs really come from. */
    private final IoasidCore hostCore = new IoasidCore(20, 10_000);
    /** The guest kernel's IOASID core, allocating through the vIOMMUs. */
    private final IoasidCore guestCore = new IoasidCore(20, 10_000);
    private final IoasidSet guestSet = guestCore.createSet(TokenType.NONE, "guest", 1000);

    @AfterEach
    void close() {
        guestCore.close();
        hostCore.close();
    }

    private static Map<String, Object> props() {
        Map<String, Object> p = new HashMap<>();
        p.put(Constants.SERVICE_ID, SERVICE_IDS.incrementAndGet());
        return p;
    }

    /** A guest's vIOMMU with virtual commands and 20-bit PASIDs. */
    private static VtdParams guestVcmd() {
        return VtdFixture.guest().vcmd(true).build();
    }

    private VcmdAllocator allocator(VtdFixture r) {
        IoasidAllocator a = r.backend.guestAllocator();
        assertNotNull(a, "a guest vIOMMU with virtual commands registers an allocator");
        return (VcmdAllocator) a;
    }

    @Test
    @DisplayName("rule 30: only a unit with caching mode, scalable mode, ECAP.VCS and VCCAP.PAS "
            + "gets the VCMD allocator")
    void registrationConditions() {
        VcmdHost vm = new VcmdHost("vm", 0);
        assertNotNull(new VtdFixture(VtdFixture.guest().vcmd(true).build(), vm).backend.guestAllocator());
        assertNull(new VtdFixture(VtdFixture.bare().vcmd(true).build(), vm).backend.guestAllocator(),
                "a host unit allocates from the host space itself");
        assertNull(new VtdFixture(VtdFixture.guest().vcmd(true).scalableMode(false).build(), vm).backend
                .guestAllocator(), "VT-d Scalable Mode not enabled, no PASID allocation");
        assertNull(new VtdFixture(VtdFixture.guest().build(), vm).backend.guestAllocator(), "no VCS/PAS");
        VtdFixture g = new VtdFixture(VtdFixture.guest().vcmd(true).build(), vm);
        assertTrue(g.driver.guestAllocator());
        assertSame(vm.helpers(), g.backend.guestAllocator().helpers(), "the VMM session's helpers");
        assertSame(g.driver, ((VcmdAllocator) g.backend.guestAllocator()).driver(),
                "pdata = iommu");
    }

    @Test
    @DisplayName("rule 30: alloc outside [1, max PASID ID] is INVALID without any virtual command "
            + "(\"always uses the full 20 bit PASID range\")")
    void rangeCheck() {
        VtdFixture r = new VtdFixture(VtdFixture.guest().pss(7).vcmd(true).build(), new VcmdHost("vm", 0)); // QEMU
        VcmdAllocator a = allocator(r);
        assertEquals(255, r.driver.maxPasidId());
        assertEquals(Ioasid.INVALID, a.alloc(0, 100));
        assertEquals(Ioasid.INVALID, a.alloc(1, 256));
        assertEquals(Ioasid.INVALID, a.alloc(1, Ioasid.MAX_ID));
        assertEquals(0, r.unit.vcmd.vcrspReads(), "no command was sent");
        assertEquals(0, r.unit.vcmd.lastVcmd());
        assertEquals(1, a.alloc(1, 255));
    }

    @Test
    @DisplayName("rule 30: a host PASID outside the range asked (a device narrower than the host "
            + "space) goes back to the host; the guest core answers ENOSPC, with no allocator "
            + "fault")
    void hostPasidOutsideTheRange() {
        VcmdHost vm = new VcmdHost(hostCore, "vm-narrow", 100);
        VtdFixture r = new VtdFixture(guestVcmd(), vm);
        VcmdAllocator a = allocator(r);
        guestCore.bindAllocator(a, props());
        for (int i = 0; i < 3; i++) {
            guestCore.alloc(guestSet, 1, Ioasid.MAX_ID, null);
        }
        Expect.errno(Errno.ENOSPC, () -> guestCore.alloc(guestSet, 1, 3, null));
        assertEquals(0, guestCore.stats().allocatorFaults, "the core refused nothing");
        assertEquals(3, vm.outstanding(), "host PASID 4 was given back");
        assertTrue(vm.log().contains("free 4"), vm.log().toString());
        assertEquals(1, a.outOfRangeAnswers());
        assertEquals(4, guestCore.alloc(guestSet, 4, Ioasid.MAX_ID, null).id(),
                "the host's next PASID, in range this time");
    }

    @Test
    @DisplayName("rule 97: ALLOC writes command 1 and polls VCRSP until IP clears; the PASID is in "
            + "bits 27:8; it is a host PASID of the VM's set")
    void allocProtocol() {
        VcmdHost vm = new VcmdHost(hostCore, "vm-a", 100);
        vm.latency(3);
        VtdFixture r = new VtdFixture(guestVcmd(), vm);
        VcmdAllocator a = allocator(r);
        IoasidHandle hostOther = hostCore.alloc(hostCore.createSet(TokenType.NONE, "host", 10), 1,
                10, null); // the host's own PASID 1
        int id = a.alloc(1, Ioasid.MAX_ID);
        assertEquals(1L, r.unit.vcmd.lastVcmd(), "VCMD_CMD_ALLOC");
        assertEquals(4, r.unit.vcmd.vcrspReads(), "three reads with IP set, then the response");
        assertEquals(2, id, "the next free host PASID");
        assertSame(vm.set(), hostCore.find(null, id).set(), "in the VM's host set");
        assertNotEquals(hostOther.id(), id);
        assertEquals(VcmdHost.response(VcmdHost.SC_SUCCESS, 0xABCDE), 0xABCDEL << 8);
        assertEquals(4L, VcmdHost.response(VcmdHost.SC_NO_PASID_AVAIL, 0), "status in bits 2:1");
    }

    @Test
    @DisplayName("known bug 7, rule 97: NO_PASID_AVAIL is status 2; the allocator answers INVALID "
            + "and the guest core reports ENOSPC")
    void noPasidIsEnospc() {
        VcmdHost vm = new VcmdHost(hostCore, "vm-small", 2);
        VtdFixture r = new VtdFixture(guestVcmd(), vm);
        VcmdAllocator a = allocator(r);
        guestCore.bindAllocator(a, props());
        guestCore.alloc(guestSet, 1, Ioasid.MAX_ID, null);
        guestCore.alloc(guestSet, 1, Ioasid.MAX_ID, null);
        Expect.errno(Errno.ENOSPC, () -> guestCore.alloc(guestSet, 1, Ioasid.MAX_ID, null));
        assertEquals(1, a.noPasidAnswers());
        assertEquals(2, vm.outstanding());
        assertTrue(vm.log().contains("alloc -> ENOSPC"), vm.log().toString());
    }

    @Test
    @DisplayName("known bug 7: status 1 (the value the bug used) is not \"no PASID\": the allocation "
            + "fails as an error (ENODEV from the driver, kept by the core: D37), not ENOSPC")
    void otherStatusIsAnError() {
        VcmdHost vm = new VcmdHost(hostCore, "vm-b", 100);
        VtdFixture r = new VtdFixture(guestVcmd(), vm);
        VcmdAllocator a = allocator(r);
        vm.forceNextStatus(1);
        Expect.errno(Errno.ENODEV, () -> a.alloc(1, 100));
        guestCore.bindAllocator(a, props());
        vm.forceNextStatus(3);
        IoasidException e = Expect.errno(Errno.ENODEV,
                () -> guestCore.alloc(guestSet, 1, 100, null));
        IoasidException cause = assertInstanceOf(IoasidException.class, e.getCause());
        assertEquals(Errno.ENODEV, cause.errno());
        assertEquals(0, vm.outstanding(), "nothing was allocated on the host");
        assertEquals(1, guestCore.alloc(guestSet, 1, 100, null).id(), "and the next works");
    }

    @Test
    @DisplayName("rule 97: FREE writes (pasid << 8) | 2; INVALID_PASID (2) is logged and counted, "
            + "never thrown")
    void freeProtocol() {
        VcmdHost vm = new VcmdHost(hostCore, "vm-c", 100);
        VtdFixture r = new VtdFixture(guestVcmd(), vm);
        VcmdAllocator a = allocator(r);
        int id = a.alloc(1, 1000);
        a.free(id);
        assertEquals((long) id << 8 | 2, r.unit.vcmd.lastVcmd());
        assertEquals(0, vm.outstanding());
        a.free(id);
        assertEquals(1, a.invalidFrees());
        assertTrue(vm.log().contains("free " + id + " -> invalid"), vm.log().toString());
    }

    @Test
    @DisplayName("known bug 8, rule 31: freeing a guest PASID that had private data still frees "
            + "the host PASID; the VM's host set ends empty")
    void freeWithPrivateDataDoesNotLeak() {
        VcmdHost vm = new VcmdHost(hostCore, "vm-d", 100);
        VtdFixture r = new VtdFixture(guestVcmd(), vm);
        guestCore.bindAllocator(allocator(r), props());
        IoasidHandle h = guestCore.alloc(guestSet, 1, Ioasid.MAX_ID, "svm bond");
        assertEquals("svm bond", h.privateData());
        assertEquals(1, vm.set().size(), "one host PASID in the VM's set");
        guestCore.free(h);
        assertEquals(0, vm.set().size(), "the kernel refused here and leaked the host PASID");
        assertEquals(0, vm.outstanding());
        Expect.errno(Errno.ENOENT, () -> hostCore.find(null, h.id()));
    }

    @Test
    @DisplayName("rules 30, 25, 32: every vIOMMU shares the helpers, so one ID space; unplugging "
            + "the first keeps its PASIDs and allocation and free go on through the second")
    void sharedHelpersAndHotUnplug() {
        VcmdHost vm = new VcmdHost(hostCore, "vm-e", 100);
        VtdFixture v1 = new VtdFixture("dmar0", guestVcmd(), vm);
        VtdFixture v2 = new VtdFixture("dmar1", guestVcmd(), vm);
        VcmdAllocator a1 = allocator(v1);
        VcmdAllocator a2 = allocator(v2);
        assertSame(a1.helpers(), a2.helpers());
        Map<String, Object> p1 = props();
        Map<String, Object> p2 = props();
        guestCore.bindAllocator(a1, p1);
        guestCore.bindAllocator(a2, p2);
        IdSpaceDTO[] spaces = Arrays.stream(guestCore.idSpaces()).filter(s -> !s.isDefault)
                .toArray(IdSpaceDTO[]::new);
        assertEquals(1, spaces.length, "one helper group");
        assertEquals(2, spaces[0].members.length);
        IoasidHandle pasid1 = guestCore.alloc(guestSet, 1, Ioasid.MAX_ID, null);
        assertEquals(1L, v1.unit.vcmd.lastVcmd(), "the first vIOMMU's registers were used");
        assertEquals(0L, v2.unit.vcmd.lastVcmd());
        // hot-unplug of the first vIOMMU
        guestCore.unbindAllocator(a1, p1);
        v1.backend.deactivate();
        assertSame(pasid1, guestCore.find(guestSet, pasid1.id()));
        assertFalse(pasid1.revoked(), "PASID1 is not disrupted");
        assertEquals(AllocatorDTO.ACTIVE, Arrays.stream(guestCore.allocators())
                .filter(d -> d.serviceId == (Long) p2.get(Constants.SERVICE_ID)).findFirst()
                .orElseThrow().state);
        IoasidHandle pasid2 = guestCore.alloc(guestSet, 1, Ioasid.MAX_ID, null);
        assertEquals(1L, v2.unit.vcmd.lastVcmd(), "now through the second");
        assertNotEquals(pasid1.id(), pasid2.id());
        guestCore.free(pasid1);
        assertEquals((long) pasid1.id() << 8 | 2, v2.unit.vcmd.lastVcmd());
        assertEquals(1, vm.outstanding());
    }

    @Test
    @DisplayName("rule 97: a virtual command nobody answers times out with EIO (the kernel "
            + "panics: DMAR hardware is malfunctioning)")
    void unansweredCommand() {
        VcmdHost vm = new VcmdHost("vm-f", 0);
        VtdFixture r = new VtdFixture(guestVcmd(), vm);
        VcmdAllocator a = allocator(r);
        vm.latency(VcmdAllocator.MAX_POLLS + 1);
        Expect.errno(Errno.EIO, () -> a.alloc(1, 10));
        vm.latency(0);
        r.unit.vcmd.connect(null);
        Expect.errno(Errno.EIO, () -> a.alloc(1, 10));
        r.unit.vcmd.connect(vm);
        assertEquals(2, a.alloc(1, 10), "the first command did complete on the host");
    }

    @Test
    @DisplayName("rule 30, D16: two VMs get separate host sets and distinct host PASIDs; the VMM "
            + "shared by a VM's vIOMMUs frees its set when the last one leaves")
    void vmsAndSharedVmm() {
        VcmdHost h1 = VcmdHost.acquire(hostCore, "vm-g", 100);
        VcmdHost again = VcmdHost.acquire(hostCore, "vm-g", 100);
        assertSame(h1, again);
        VcmdHost h2 = VcmdHost.acquire(hostCore, "vm-h", 100);
        assertNotEquals(h1.set().id(), h2.set().id());
        VtdFixture g1 = new VtdFixture("dmar0", guestVcmd(), h1);
        VtdFixture g2 = new VtdFixture("dmar0", guestVcmd(), h2);
        int a = allocator(g1).alloc(1, 100);
        int b = allocator(g2).alloc(1, 100);
        assertNotEquals(a, b, "one system-wide host space");
        h1.release();
        assertSame(h1.set(), hostCore.findSet(TokenType.NONE, "vcmd:vm-g"), "one user left");
        h1.release();
        Expect.errno(Errno.ENOENT, () -> hostCore.findSet(TokenType.NONE, "vcmd:vm-g"));
        Expect.errno(Errno.ENOENT, () -> hostCore.find(null, a));
        h2.release();
        assertEquals(0, hostCore.ids(null, 100).length);
    }

    @Test
    @DisplayName("D19: a VM's host set is the VMM's own: no one else frees it (EPERM) while the "
            + "guest allocates from it, and the VMM still frees it when the last vIOMMU leaves")
    void vmSetIsTheVmmsOwn() {
        VcmdHost vmm = VcmdHost.acquire(hostCore, "vm-i", 100);
        assertEquals("vtd-vcmd", hostCore.sets()[0].owner);
        Expect.errno(Errno.EPERM, () -> hostCore.freeSet(vmm.set()));
        VtdFixture g = new VtdFixture("dmar0", guestVcmd(), vmm);
        int pasid = allocator(g).alloc(1, 100);
        assertSame(vmm.set(), hostCore.find(null, pasid).set());
        vmm.release();
        Expect.errno(Errno.ENOENT, () -> hostCore.findSet(TokenType.NONE, "vcmd:vm-i"));
        assertEquals(0, hostCore.sets().length);
    }
}
