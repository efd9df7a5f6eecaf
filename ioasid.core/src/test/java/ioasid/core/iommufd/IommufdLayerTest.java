package ioasid.core.iommufd;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOMEM;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.api.Errno.EOVERFLOW;
import static ioasid.api.Errno.EPERM;
import static ioasid.core.iommufd.IommufdFixture.BUFFER;
import static ioasid.core.iommufd.IommufdFixture.MOCK_APERTURE_START;
import static ioasid.core.iommufd.IommufdFixture.PAGE_SIZE;
import static ioasid.core.iommufd.IommufdFixture.RW;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidHandle;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.iommu.dto.PasidDTO;
import ioasid.api.iommufd.Iommufd;
import ioasid.api.iommufd.IovaRange;
import ioasid.testkit.Expect;

/**
 * The iommufd layer's own contract, beyond what the kernel's selftests check: the errno table
 * of the package (gone ENOENT, busy EBUSY, incompatible EINVAL), the decisions where the
 * platform differs (D30-D35), and that a failed call changes nothing. Rules 120-130.
 */
class IommufdLayerTest {
    private static final int FIXED = RW | Iommufd.MAP_FIXED_IOVA;

    private IommufdFixture fx;
    private Iommufd fd;
    private int ioas;

    @BeforeEach
    void setUp() {
        fx = new IommufdFixture();
        fd = fx.fd;
        ioas = fd.ioasAlloc();
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    @Test
    @DisplayName("An ID never handed out, destroyed, or of another type is ENOENT on every call "
            + "(rule 120)")
    void goneIsEnoent() {
        int dev = fx.mockDomain(ioas)[0];
        int gone = fd.ioasAlloc();
        fd.destroy(gone);
        for (int id : new int[] {0, 99, gone, dev}) {
            fx.unchanged(ENOENT, () -> fd.ioasMap(id, 0, BUFFER, PAGE_SIZE, RW));
            fx.unchanged(ENOENT, () -> fd.ioasUnmap(id, 0, -1L));
            fx.unchanged(ENOENT, () -> fd.ioasAreas(id));
            fx.unchanged(ENOENT, () -> fd.ioasIovaRanges(id));
            fx.unchanged(ENOENT, () -> fd.ioasAllowIovas(id));
            fx.unchanged(ENOENT, () -> fd.ioasReserveIova(id, 0, PAGE_SIZE));
        }
        for (int id : new int[] {0, 99, gone, ioas}) {
            fx.unchanged(ENOENT, () -> fd.deviceAttach(id, ioas));
            fx.unchanged(ENOENT, () -> fd.deviceDetach(id));
            fx.unchanged(ENOENT, () -> fd.deviceUnbind(id));
            fx.unchanged(ENOENT, () -> fd.hwptAlloc(id, ioas, 0));
        }
        fx.unchanged(ENOENT, () -> fd.destroy(gone));
        fx.unchanged(ENOENT, () -> fd.deviceReplace(dev, gone));
        fx.unchanged(ENOENT, () -> fd.viommuAlloc(dev, ioas));
    }

    @Test
    @DisplayName("In use is EBUSY: an IOAS with a HWPT, a HWPT with a device, a bound device, a "
            + "device bound twice, a device or PASID attached again (rules 120, 127, 128, D34)")
    void busyIsEbusy() {
        int[] dom = fx.mockDomain(ioas);
        fx.unchanged(EBUSY, () -> fd.destroy(ioas));
        fx.unchanged(EBUSY, () -> fd.destroy(dom[1]));
        fx.unchanged(EBUSY, () -> fd.destroy(dom[0]));
        String name = fx.object(dom[0]).device;
        fx.unchanged(EBUSY, () -> fd.deviceBind(name));
        fx.unchanged(EBUSY, () -> fd.deviceAttach(dom[0], ioas));
        IoasidHandle pasid = fx.iommu.allocGlobalPasid(name);
        fd.devicePasidAttach(dom[0], pasid, dom[1]);
        fx.unchanged(EBUSY, () -> fd.devicePasidAttach(dom[0], pasid, dom[1]));
    }

    @Test
    @DisplayName("Incompatible is EINVAL: an attach target that is a device, a HWPT source that "
            + "is a device, a replace of a device not attached, a HWPT of another IOMMU for a "
            + "device (rules 127, 128)")
    void incompatibleIsEinval() {
        int dev = fx.mockDomain(ioas)[0];
        int other = fd.deviceBind(fx.mock.device(1));
        fx.unchanged(EINVAL, () -> fd.deviceAttach(other, dev));
        fx.unchanged(EINVAL, () -> fd.hwptAlloc(other, dev, 0));
        fx.unchanged(EINVAL, () -> fd.deviceReplace(other, ioas));
        MockIommu second = fx.bind(new MockIommu("mock1", 2));
        int foreignDev = fd.deviceBind(second.device(0));
        int foreign = fd.hwptAlloc(foreignDev, ioas, 0);
        fx.unchanged(EINVAL, () -> fd.deviceAttach(other, foreign));
    }

    @Test
    @DisplayName("Map argument errnos: unknown flags EOPNOTSUPP, neither read nor write EINVAL, "
            + "2^64-1 and a wrapping range EOVERFLOW, zero length EINVAL, a fixed IOVA in a "
            + "reserved range EINVAL (rule 121)")
    void mapArguments() {
        fx.unchanged(EOPNOTSUPP, () -> fd.ioasMap(ioas, 0, BUFFER, PAGE_SIZE, 1 << 8));
        fx.unchanged(EINVAL, () -> fd.ioasMap(ioas, 0, BUFFER, PAGE_SIZE,
                Iommufd.MAP_FIXED_IOVA));
        fx.unchanged(EOVERFLOW, () -> fd.ioasMap(ioas, -1L, BUFFER, PAGE_SIZE, FIXED));
        fx.unchanged(EOVERFLOW, () -> fd.ioasMap(ioas, 0, BUFFER, -1L, FIXED));
        fx.unchanged(EOVERFLOW, () -> fd.ioasMap(ioas, -PAGE_SIZE, BUFFER, 2 * PAGE_SIZE, FIXED));
        fx.unchanged(EINVAL, () -> fd.ioasMap(ioas, 0, BUFFER, 0, FIXED));
        fd.ioasReserveIova(ioas, PAGE_SIZE, PAGE_SIZE);
        fx.unchanged(EINVAL, () -> fd.ioasMap(ioas, 0, BUFFER, 2 * PAGE_SIZE, FIXED));
        assertEquals(2 * PAGE_SIZE, fd.ioasMap(ioas, 0, BUFFER, PAGE_SIZE, RW),
                "an allocated IOVA steps over the reservation");
    }

    @Test
    @DisplayName("Unmap arguments: zero length EINVAL; 2^64-1 EOVERFLOW outside unmap-all; "
            + "unmap returns the bytes of the areas (rule 123)")
    void unmapArguments() {
        fd.ioasMap(ioas, PAGE_SIZE, BUFFER, 3 * PAGE_SIZE, FIXED);
        fx.unchanged(EINVAL, () -> fd.ioasUnmap(ioas, PAGE_SIZE, 0));
        fx.unchanged(EOVERFLOW, () -> fd.ioasUnmap(ioas, -1L, 1));
        fx.unchanged(EOVERFLOW, () -> fd.ioasUnmap(ioas, PAGE_SIZE, -1L));
        assertEquals(3 * PAGE_SIZE, fd.ioasUnmap(ioas, 0, 16 * PAGE_SIZE));
    }

    @Test
    @DisplayName("D32: an unmap whose range holds whole areas and cuts a later one is ENOENT and "
            + "unmaps none of them, in the IOAS and in its HWPT")
    void failedUnmapChangesNothing() {
        int hwpt = fx.mockDomain(ioas)[1];
        long base = MOCK_APERTURE_START;
        fd.ioasMap(ioas, base, BUFFER, PAGE_SIZE, FIXED);
        fd.ioasMap(ioas, base + PAGE_SIZE, BUFFER, PAGE_SIZE, FIXED);
        fd.ioasMap(ioas, base + 2 * PAGE_SIZE, BUFFER, 2 * PAGE_SIZE, FIXED);
        fx.unmapFails(ENOENT, ioas, base, 3 * PAGE_SIZE);
        assertEquals(3, fd.ioasAreas(ioas).length);
        fx.checkMockIova(hwpt, BUFFER, base, PAGE_SIZE);
    }

    @Test
    @DisplayName("D30, rule 121: a map one HWPT refuses fails whole: the HWPT that took it is "
            + "unmapped again and the IOAS keeps no area")
    void mapLandsInEveryHwptOrNone() {
        int[] dom = fx.mockDomain(ioas);
        int second = fd.hwptAlloc(dom[0], ioas, 0);
        fx.mock.failMap.add(fx.mock.allocated.indexOf(
                fx.mock.allocated.stream().filter(d -> !d.freed && d.type.isPaging())
                        .reduce((a, b) -> b).orElseThrow()));
        fx.unchanged(ENOMEM, () -> fd.ioasMap(ioas, MOCK_APERTURE_START, BUFFER, PAGE_SIZE,
                FIXED));
        assertEquals(0, fd.ioasAreas(ioas).length);
        assertEquals(0, fx.iommu.iovaToPhys(fx.domainOf(dom[1]), MOCK_APERTURE_START));
        assertNotEquals(dom[1], second);
        fd.ioasMap(ioas, MOCK_APERTURE_START, BUFFER, PAGE_SIZE, FIXED);
        fx.checkMockIova(dom[1], BUFFER, MOCK_APERTURE_START, PAGE_SIZE);
        fx.checkMockIova(second, BUFFER, MOCK_APERTURE_START, PAGE_SIZE);
    }

    @Test
    @DisplayName("D30: a map past a HWPT's aperture is that domain's EINVAL and leaves nothing")
    void mapPastApertureFails() {
        fx.mockDomain(ioas);
        fx.unchanged(EINVAL, () -> fd.ioasMap(ioas, 1L << 40, BUFFER, PAGE_SIZE, FIXED));
    }

    @Test
    @DisplayName("A HWPT made from an IOAS with areas holds them, follows later maps and "
            + "unmaps, and a replace between two HWPTs of one IOAS keeps the mappings (rules "
            + "127, 128)")
    void hwptFollowsItsIoas() {
        int[] dom = fx.mockDomain(ioas);
        fd.ioasMap(ioas, MOCK_APERTURE_START, BUFFER, PAGE_SIZE, FIXED);
        int manual = fd.hwptAlloc(dom[0], ioas, 0);
        fx.checkMockIova(manual, BUFFER, MOCK_APERTURE_START, PAGE_SIZE);
        fd.ioasMap(ioas, MOCK_APERTURE_START + PAGE_SIZE, BUFFER, PAGE_SIZE, FIXED);
        fx.checkMockIova(manual, BUFFER, MOCK_APERTURE_START + PAGE_SIZE, PAGE_SIZE);
        assertEquals(manual, fd.deviceReplace(dom[0], manual));
        assertFalse(fx.exists(dom[1]), "the auto HWPT went with its last device");
        fd.ioasUnmap(ioas, MOCK_APERTURE_START, PAGE_SIZE);
        assertEquals(0, fx.iommu.iovaToPhys(fx.domainOf(manual), MOCK_APERTURE_START));
        assertEquals(manual, fx.object(dom[0]).hwptId);
    }

    @Test
    @DisplayName("A failed replace leaves the device on its HWPT, attached in the core (rule "
            + "128)")
    void failedReplaceKeepsTheOldHwpt() {
        int[] dom = fx.mockDomain(ioas);
        MockIommu second = fx.bind(new MockIommu("mock1", 2));
        int foreignDev = fd.deviceBind(second.device(0));
        int foreign = fd.hwptAlloc(foreignDev, ioas, 0);
        fx.unchanged(EINVAL, () -> fd.deviceReplace(dom[0], foreign));
        assertEquals(dom[1], fx.object(dom[0]).hwptId);
        assertEquals(fx.object(dom[1]).domainId, group(dom[0]).domainId);
    }

    @Test
    @DisplayName("Attach to an IOAS reuses a compatible auto HWPT and makes one for a device of "
            + "another IOMMU; detach of a device not attached does nothing; detach blocks the "
            + "group and frees the auto HWPT (rules 128, 130)")
    void attachFindsOrMakesAHwpt() {
        int[] a = fx.mockDomain(ioas);
        int[] b = fx.mockDomain(ioas);
        assertEquals(a[1], b[1]);
        MockIommu second = fx.bind(new MockIommu("mock1", 2));
        int[] c = fx.mockDomain(second, ioas);
        assertNotEquals(a[1], c[1]);
        fd.deviceDetach(c[0]);
        fd.deviceDetach(c[0]);
        assertFalse(fx.exists(c[1]));
        GroupDTO g = group(c[0]);
        assertEquals(g.blockingDomainId, g.domainId);
    }

    @Test
    @DisplayName("PASIDs: attach to an IOAS finds its HWPT, replace moves it in one step, a "
            + "replace of a PASID not attached EINVAL, detach twice is no error (rules 128, 130, "
            + "D35)")
    void pasidAttachReplaceDetach() {
        int[] dom = fx.mockDomain(ioas);
        String name = fx.object(dom[0]).device;
        IoasidHandle pasid = fx.iommu.allocGlobalPasid(name);
        int other = fd.hwptAlloc(dom[0], ioas, 0);
        fx.unchanged(EINVAL, () -> fd.devicePasidReplace(dom[0], pasid, other));
        assertEquals(dom[1], fd.devicePasidAttach(dom[0], pasid, ioas));
        assertEquals(other, fd.devicePasidReplace(dom[0], pasid, other));
        assertEquals(fx.object(other).domainId, pasidDomain(name, pasid));
        assertArrayEquals(new String[] {pasid.id() + "=" + other}, fx.object(dom[0]).pasids);
        fx.unchanged(EBUSY, () -> fd.destroy(other));
        fd.devicePasidDetach(dom[0], pasid);
        fd.devicePasidDetach(dom[0], pasid);
        fd.destroy(other);
        assertEquals(-1, pasidDomain(name, pasid));
    }

    @Test
    @DisplayName("D34: bind claims the device's DMA for the context, unbind releases it and "
            + "detaches its PASIDs")
    void bindClaimsOwnership() {
        int dev = fd.deviceBind(fx.mock.device(0));
        assertEquals("iommufd selftest", group(dev).owner);
        int hwpt = fd.deviceAttach(dev, ioas);
        IoasidHandle pasid = fx.iommu.allocGlobalPasid(fx.mock.device(0));
        fd.devicePasidAttach(dev, pasid, hwpt);
        String name = fx.object(dev).device;
        fd.deviceUnbind(dev);
        assertEquals(-1, pasidDomain(name, pasid));
        assertFalse(fx.exists(hwpt));
        assertNull(Arrays.stream(fx.iommu.groups()).filter(
                g -> Arrays.asList(g.devices).contains(name)).findFirst().orElseThrow().owner);
    }

    @Test
    @DisplayName("Copy: a source with a gap ENOENT, a writable copy of read-only pages EPERM, "
            + "a copy keeps the source's physical pages (rule 126)")
    void copy() {
        fd.ioasMap(ioas, PAGE_SIZE, BUFFER, PAGE_SIZE, Iommufd.MAP_READABLE
                | Iommufd.MAP_FIXED_IOVA);
        fd.ioasMap(ioas, 3 * PAGE_SIZE, BUFFER + PAGE_SIZE, PAGE_SIZE, FIXED);
        int dst = fd.ioasAlloc();
        fx.unchanged(ENOENT, () -> fd.ioasCopy(dst, 0, ioas, PAGE_SIZE, 3 * PAGE_SIZE, FIXED));
        fx.unchanged(EPERM, () -> fd.ioasCopy(dst, 0, ioas, PAGE_SIZE, PAGE_SIZE, FIXED));
        fd.ioasCopy(dst, 0, ioas, PAGE_SIZE, PAGE_SIZE,
                Iommufd.MAP_READABLE | Iommufd.MAP_FIXED_IOVA);
        assertEquals(BUFFER, fd.ioasAreas(dst)[0].paddr);
    }

    @Test
    @DisplayName("Allowed ranges: a range whose start is not below its end, or two overlapping, "
            + "EINVAL; a reservation in an allowed range EEXIST (EADDRINUSE, D31) (rule 124)")
    void allowedRanges() {
        fx.unchanged(EINVAL, () -> fd.ioasAllowIovas(ioas, new IovaRange(PAGE_SIZE, PAGE_SIZE)));
        fx.unchanged(EINVAL, () -> fd.ioasAllowIovas(ioas,
                new IovaRange(PAGE_SIZE, 4 * PAGE_SIZE), new IovaRange(2 * PAGE_SIZE,
                        8 * PAGE_SIZE)));
        fd.ioasAllowIovas(ioas, new IovaRange(PAGE_SIZE, 4 * PAGE_SIZE - 1));
        fx.unchanged(EEXIST, () -> fd.ioasReserveIova(ioas, 2 * PAGE_SIZE, PAGE_SIZE));
        assertEquals(PAGE_SIZE, fd.ioasMap(ioas, 0, BUFFER, PAGE_SIZE, RW));
    }

    @Test
    @DisplayName("HWPT allocation: unknown flags, dirty tracking and a HWPT as source (nesting) "
            + "are EOPNOTSUPP (rule 127)")
    void hwptAllocUnsupported() {
        int[] dom = fx.mockDomain(ioas);
        fx.unchanged(EOPNOTSUPP, () -> fd.hwptAlloc(dom[0], ioas, 1 << 9));
        fx.unchanged(EOPNOTSUPP, () -> fd.hwptAlloc(dom[0], ioas,
                Iommufd.HWPT_ALLOC_DIRTY_TRACKING));
        fx.unchanged(EOPNOTSUPP, () -> fd.hwptAlloc(dom[0], dom[1], 0));
    }

    @Test
    @DisplayName("D33: when the mock IOMMU leaves, its HWPTs, vIOMMU and vDevice stay as IDs; "
            + "maps and unmaps skip them; destroying them and closing succeed")
    void hardwareThatLeft() {
        int[] dom = fx.mockDomain(ioas);
        int parent = fd.hwptAlloc(dom[0], ioas, Iommufd.HWPT_ALLOC_NEST_PARENT);
        int viommu = fd.viommuAlloc(dom[0], parent);
        int vdev = fd.vdeviceAlloc(viommu, dom[0], 7);
        fd.ioasMap(ioas, MOCK_APERTURE_START, BUFFER, PAGE_SIZE, FIXED);
        fx.unbind(fx.mock);
        assertTrue(fx.exists(dom[1]));
        fd.ioasMap(ioas, MOCK_APERTURE_START + PAGE_SIZE, BUFFER, PAGE_SIZE, FIXED);
        assertEquals(2 * PAGE_SIZE, fd.ioasUnmap(ioas, 0, -1L));
        fd.destroy(vdev);
        fd.destroy(viommu);
        fd.destroy(parent);
        fd.deviceUnbind(dom[0]);
        assertFalse(fx.exists(dom[1]));
        fd.close();
        Expect.errno(ENODEV, () -> fd.ioasAlloc());
    }

    @Test
    @DisplayName("The service closes the contexts still open when it stops, and opens no more "
            + "(rule 120)")
    void serviceStop() {
        int dev = fx.mockDomain(ioas)[0];
        String name = fx.object(dev).device;
        fx.service.close();
        Expect.errno(ENODEV, () -> fd.objects());
        Expect.errno(ENODEV, () -> fx.service.open("late"));
        Expect.errno(EINVAL, () -> new IommufdCore(fx.iommu).open(" "));
        assertNull(Arrays.stream(fx.iommu.groups()).filter(
                g -> Arrays.asList(g.devices).contains(name)).findFirst().orElseThrow().owner);
    }

    private GroupDTO group(int deviceId) {
        String name = fx.object(deviceId).device;
        return Arrays.stream(fx.iommu.groups()).filter(g -> Arrays.asList(g.devices)
                .contains(name)).findFirst().orElseThrow();
    }

    private int pasidDomain(String device, IoasidHandle pasid) {
        for (PasidDTO p : fx.iommu.pasids()) {
            if (p.device.equals(device) && p.pasid == pasid.id()) {
                return p.domainId;
            }
        }
        return -1;
    }
}
