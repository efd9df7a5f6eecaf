package ioasid.backend.virtio.impl;

import static ioasid.backend.virtio.impl.VirtioFixture.GPU;
import static ioasid.backend.virtio.impl.VirtioFixture.NIC;
import static ioasid.backend.virtio.impl.VirtioFixture.RW;
import static ioasid.backend.virtio.impl.VirtioFixture.assertTranslated;
import static ioasid.backend.virtio.impl.VirtioFixture.paging;
import static ioasid.backend.virtio.impl.VirtioFixture.read;
import static ioasid.backend.virtio.impl.VirtioFixture.since;
import static ioasid.backend.virtio.impl.VirtioFixture.unchanged;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;

/** Replace as one ATTACH to the new domain, the spec's implicit detach: rules 100, 101; D25. */
class ReplaceTest {

    @Test
    @DisplayName("D25: replace sends one ATTACH to the new domain and no DETACH; the device "
            + "destroys the old domain it emptied, the driver keeps its tree")
    void oneAttachNoDetach() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d1 = paging(b);
        VirtioIommuDomain d2 = paging(b);
        b.attachDev(GPU, d1);
        d1.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        d2.mapPages(0x1000, 0x90000, 0x1000, 1, RW);
        int n = b.commandLog().size();
        b.replaceDev(GPU, d1, d2);
        assertEquals(List.of("ATTACH domain=1 endpoint=0x18 flags=0 : OK",
                "MAP domain=1 [0x1000,0x1fff] -> 0x90000 rw : OK"), since(b, n));
        assertFalse(b.driver().device().hasDomain(0), "implicit detach emptied domain 0");
        assertEquals(0x80000, d1.iovaToPhys(0x1000));
        assertTranslated(read(b, GPU, 0x1000), 0x90000, d2);
        assertSame(d2, b.driver().attachedDomain(GPU));
        assertEquals(0, b.driver().endpointCount(d1));
    }

    @Test
    @DisplayName("D25: when another endpoint stays on the old domain, the device keeps it and its "
            + "mappings; the new domain, empty on the device, gets the driver's tree replayed")
    void oldDomainSharedStays() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d1 = paging(b);
        VirtioIommuDomain d2 = paging(b);
        b.attachDev(GPU, d1);
        b.attachDev(NIC, d1);
        d1.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        d2.mapPages(0x2000, 0x90000, 0x1000, 1, RW);
        int n = b.commandLog().size();
        b.replaceDev(GPU, d1, d2);
        assertEquals(List.of("ATTACH domain=1 endpoint=0x18 flags=0 : OK",
                "MAP domain=1 [0x2000,0x2fff] -> 0x90000 rw : OK"), since(b, n));
        assertTrue(b.driver().device().hasDomain(d1.domainId()), "NIC keeps domain 0");
        assertTranslated(read(b, NIC, 0x1000), 0x80000, d1);
        assertTranslated(read(b, GPU, 0x2000), 0x90000, d2);
        assertEquals(1, b.driver().endpointCount(d1));
        assertEquals(1, b.driver().endpointCount(d2));
    }

    @Test
    @DisplayName("rule 105: replacing with the current domain sends nothing; a wrong old domain is "
            + "EINVAL and nothing changes")
    void sameDomainAndWrongOld() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d1 = paging(b);
        VirtioIommuDomain d2 = paging(b);
        b.attachDev(GPU, d1);
        int n = b.commandLog().size();
        b.replaceDev(GPU, d1, d1);
        assertEquals(List.of(), since(b, n));
        unchanged(b, Errno.EINVAL, () -> b.replaceDev(GPU, d2, d1), d1, d2);
        unchanged(b, Errno.ENODEV, () -> b.replaceDev("nope", d1, d2), d1, d2);
    }
}
