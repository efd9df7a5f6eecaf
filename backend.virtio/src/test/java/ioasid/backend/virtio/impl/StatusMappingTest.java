package ioasid.backend.virtio.impl;

import static ioasid.backend.virtio.impl.VirtioFixture.GPU;
import static ioasid.backend.virtio.impl.VirtioFixture.NIC;
import static ioasid.backend.virtio.impl.VirtioFixture.RW;
import static ioasid.backend.virtio.impl.VirtioFixture.paging;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.testkit.Expect;

/** Rule 100: the status the device writes decides the errno the driver throws. */
class StatusMappingTest {

    private static Map<Integer, Errno> expected() {
        Map<Integer, Errno> m = new LinkedHashMap<>();
        m.put(Status.IOERR.code, Errno.EIO);
        m.put(Status.UNSUPP.code, Errno.ENOSYS);
        m.put(Status.DEVERR.code, Errno.EIO);
        m.put(Status.INVAL.code, Errno.EINVAL);
        m.put(Status.RANGE.code, Errno.ERANGE);
        m.put(Status.NOENT.code, Errno.ENOENT);
        m.put(Status.FAULT.code, Errno.EFAULT);
        m.put(Status.NOMEM.code, Errno.ENOMEM);
        m.put(9, Errno.EIO);
        m.put(0xff, Errno.EIO);
        return m;
    }

    @Test
    @DisplayName("rule 100: status codes are OK 0 .. NOMEM 8 and map OK->0, UNSUPP->ENOSYS, INVAL, "
            + "RANGE, NOENT, FAULT, NOMEM alike, IOERR/DEVERR/unknown->EIO")
    void table() {
        assertEquals(9, Status.values().length);
        for (Status s : Status.values()) {
            assertEquals(s.ordinal(), s.code);
        }
        assertNull(Status.errno(Status.OK.code));
        expected().forEach((code, errno) -> assertEquals(errno, Status.errno(code), "status "
                + code));
        assertEquals("status 9", Status.name(9));
    }

    @Test
    @DisplayName("rule 100: a failed MAP throws the mapped errno for every status, and leaves the "
            + "driver's tree and the device as they were")
    void mapFailures() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d = paging(b);
        b.attachDev(GPU, d);
        for (Map.Entry<Integer, Errno> e : expected().entrySet()) {
            b.driver().device().injectStatus(Request.T_MAP, e.getKey());
            String before = VirtioFixture.state(b, d);
            Expect.errno(e.getValue(), () -> d.mapPages(0x1000, 0x80000, 0x1000, 1, RW));
            assertEquals(before, VirtioFixture.state(b, d));
            assertEquals("MAP domain=0 [0x1000,0x1fff] -> 0x80000 rw : " + Status.name(e.getKey()),
                    b.commandLog().get(b.commandLog().size() - 1));
        }
        d.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        assertEquals(0x80000, VirtioFixture.read(b, GPU, 0x1000).physAddr());
    }

    @Test
    @DisplayName("rule 100: ATTACH and DETACH failures carry the mapped errno too; the driver's "
            + "view stays as it was")
    void attachDetachFailures() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d = paging(b);
        b.driver().device().injectStatus(Request.T_ATTACH, Status.NOENT.code);
        Expect.errno(Errno.ENOENT, () -> b.attachDev(NIC, d));
        assertNull(b.driver().attachedDomain(NIC));
        b.attachDev(NIC, d);
        b.driver().device().injectStatus(Request.T_DETACH, Status.DEVERR.code);
        String before = VirtioFixture.state(b, d);
        Expect.errno(Errno.EIO, () -> b.detachDev(NIC));
        assertEquals(before, VirtioFixture.state(b, d));
        b.detachDev(NIC);
        assertNull(b.driver().attachedDomain(NIC));
    }

    @Test
    @DisplayName("rule 58: a queued UNMAP's failure is not read back by the driver (as in Linux); "
            + "the device's log keeps it")
    void queuedStatusNotRead() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d = paging(b);
        b.attachDev(GPU, d);
        d.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        b.driver().device().injectStatus(Request.T_UNMAP, Status.IOERR.code);
        assertEquals(0x1000, d.unmapPages(0x1000, 0x1000, 1, null));
        d.flushIotlbAll();
        assertEquals(1, b.driver().unreadFailures());
        assertEquals("UNMAP domain=0 [0x1000,0x1fff] : IOERR",
                b.commandLog().get(b.commandLog().size() - 1));
        assertEquals(0x80000, VirtioFixture.read(b, GPU, 0x1000).physAddr(),
                "the device kept a mapping the driver forgot");
    }

    @Test
    @DisplayName("S17: commandLog is bounded to the newest 4096 requests")
    void logBounded() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d = paging(b);
        b.attachDev(GPU, d);
        for (int i = 0; i < 2100; i++) {
            d.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
            d.unmapPages(0x1000, 0x1000, 1, null);
        }
        d.flushIotlbAll();
        assertEquals(VirtioIommuDevice.LOG_MAX, b.commandLog().size());
        assertEquals(3 + 1 + 4200, b.driver().device().completed());
        assertEquals("UNMAP domain=0 [0x1000,0x1fff] : OK",
                b.commandLog().get(VirtioIommuDevice.LOG_MAX - 1));
        assertEquals(b.driver().device().requests().get(0).seq(), b.driver().device().completed()
                - VirtioIommuDevice.LOG_MAX + 1);
    }
}
