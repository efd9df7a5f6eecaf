package ioasid.backend.virtio.impl;

import static ioasid.backend.virtio.impl.VirtioFixture.GPU_SID;
import static ioasid.backend.virtio.impl.VirtioFixture.NIC_SID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The device's ATTACH and DETACH (rule 101), driven with raw requests. */
class DeviceAttachTest {

    private final VirtioIommuDevice dev = VirtioFixture.device(VirtioFixture.params());

    private int send(Request r) {
        return dev.process(r).status();
    }

    private void attach(long domain, long ep) {
        assertEquals(Status.OK.code, send(new Request.Attach(domain, ep, 0)));
    }

    private void map(long domain, long start, long end, long phys) {
        assertEquals(Status.OK.code, send(new Request.Map(domain, start, end, phys,
                Request.MAP_F_READ | Request.MAP_F_WRITE)));
    }

    /** Expects the status and that nothing but the log changed. */
    private void refused(Status status, Request r) {
        String before = dev.state();
        assertEquals(Status.name(status.code), Status.name(send(r)), r.toString());
        assertEquals(before, dev.state(), "a refused " + r + " changed the device");
    }

    @Test
    @DisplayName("rule 101: ATTACH with flag bits other than ATTACH_F_BYPASS is INVAL and changes nothing")
    void unknownFlags() {
        attach(1, GPU_SID);
        refused(Status.INVAL, new Request.Attach(2, GPU_SID, 0x2));
        refused(Status.INVAL, new Request.Attach(2, NIC_SID, Request.ATTACH_F_BYPASS | 0x80));
        assertFalse(dev.knowsEndpoint(NIC_SID), "no endpoint state from a refused ATTACH");
    }

    @Test
    @DisplayName("rule 101: ATTACH of an endpoint that is not on the bus is NOENT")
    void unknownEndpoint() {
        refused(Status.NOENT, new Request.Attach(1, 0x99, 0));
        assertTrue(dev.domainIds().isEmpty(), "no domain created for it");
    }

    @Test
    @DisplayName("rule 101: re-attaching an endpoint detaches it first; its emptied old domain is "
            + "destroyed with its mappings")
    void reattachDestroysEmptiedDomain() {
        attach(1, GPU_SID);
        map(1, 0x1000, 0x1fff, 0x80000);
        attach(2, GPU_SID);
        assertEquals(2, dev.endpointDomain(GPU_SID));
        assertFalse(dev.hasDomain(1), "domain 1 lost its last endpoint");
        attach(1, GPU_SID); // the same ID again is a new, empty domain
        assertEquals(List.of(), dev.mappings(1), "the old mappings went with the domain");
    }

    @Test
    @DisplayName("rule 101: the old domain and its mappings survive while another endpoint is on it")
    void oldDomainSurvivesWithOtherEndpoint() {
        attach(1, GPU_SID);
        attach(1, NIC_SID);
        map(1, 0x1000, 0x1fff, 0x80000);
        attach(2, GPU_SID);
        assertTrue(dev.hasDomain(1));
        assertEquals(1, dev.mappings(1).size());
        assertEquals(1, dev.endpointDomain(NIC_SID));
    }

    @Test
    @DisplayName("rule 101: an ATTACH naming an existing domain with the other bypass flag is INVAL")
    void bypassMismatch() {
        attach(1, NIC_SID);
        refused(Status.INVAL, new Request.Attach(1, GPU_SID, Request.ATTACH_F_BYPASS));
        assertFalse(dev.knowsEndpoint(GPU_SID));
        assertEquals(Status.OK.code, send(new Request.Attach(2, GPU_SID,
                Request.ATTACH_F_BYPASS)));
        refused(Status.INVAL, new Request.Attach(2, NIC_SID, 0));
    }

    @Test
    @DisplayName("rule 101 OBSERVED: in QEMU's order a bypass-mismatched ATTACH has already detached "
            + "the endpoint and destroyed its old domain with its mappings")
    void qemuOrderLosesTheOldDomain() {
        VirtioIommuDevice qemu = VirtioFixture.device(VirtioFixture.params().qemuAttachOrder(true));
        assertEquals(VirtioIommuDevice.AttachOrder.QEMU, qemu.attachOrder());
        qemu.process(new Request.Attach(1, GPU_SID, 0));
        qemu.process(new Request.Map(1, 0x1000, 0x1fff, 0x80000, Request.MAP_F_READ));
        qemu.process(new Request.Attach(2, NIC_SID, Request.ATTACH_F_BYPASS));
        RequestRecord r = qemu.process(new Request.Attach(2, GPU_SID, 0));
        assertEquals(Status.INVAL.code, r.status());
        assertEquals(-1, qemu.endpointDomain(GPU_SID), "left detached by a failed request");
        assertFalse(qemu.hasDomain(1), "its old domain is gone, mappings included");
        assertEquals("DOMAIN", qemu.translate(GPU_SID, 0x1000, false).reason(),
                "its DMA now faults");
    }

    @Test
    @DisplayName("rule 101 (fixed here): the same mismatched ATTACH leaves the endpoint on its old "
            + "domain, mappings and translation intact")
    void checkFirstKeepsTheOldDomain() {
        attach(1, GPU_SID);
        map(1, 0x1000, 0x1fff, 0x80000);
        assertEquals(Status.OK.code, send(new Request.Attach(2, NIC_SID,
                Request.ATTACH_F_BYPASS)));
        refused(Status.INVAL, new Request.Attach(2, GPU_SID, 0));
        assertEquals(1, dev.endpointDomain(GPU_SID));
        assertEquals(0x80010, dev.translate(GPU_SID, 0x1010, false).phys());
    }

    @Test
    @DisplayName("rule 101: the only endpoint re-attached to its own domain ID with the other bypass "
            + "flag gets it re-created, in both orders")
    void sameDomainOtherFlagRecreates() {
        for (boolean qemuOrder : new boolean[] {false, true}) {
            VirtioIommuDevice d = VirtioFixture.device(VirtioFixture.params().qemuAttachOrder(qemuOrder));
            d.process(new Request.Attach(1, GPU_SID, 0));
            d.process(new Request.Map(1, 0x1000, 0x1fff, 0x80000, Request.MAP_F_READ));
            assertEquals(Status.OK.code, d.process(new Request.Attach(1, GPU_SID,
                    Request.ATTACH_F_BYPASS)).status(), "qemu order " + qemuOrder);
            assertTrue(d.domainBypass(1));
            assertEquals(List.of(), d.mappings(1));
        }
    }

    @Test
    @DisplayName("rule 101: DETACH of a never-attached endpoint is NOENT; of one not attached, or "
            + "naming another domain, INVAL")
    void detachErrors() {
        refused(Status.NOENT, new Request.Detach(1, GPU_SID));
        attach(1, GPU_SID);
        refused(Status.INVAL, new Request.Detach(2, GPU_SID));
        assertEquals(Status.OK.code, send(new Request.Detach(1, GPU_SID)));
        refused(Status.INVAL, new Request.Detach(1, GPU_SID));
        assertTrue(dev.knowsEndpoint(GPU_SID), "a detached endpoint is still known");
    }

    @Test
    @DisplayName("rule 101: the last DETACH destroys the domain with its mappings; an earlier one "
            + "does not")
    void lastDetachDestroys() {
        attach(3, GPU_SID);
        attach(3, NIC_SID);
        map(3, 0x4000, 0x7fff, 0x100000);
        assertEquals(Status.OK.code, send(new Request.Detach(3, GPU_SID)));
        assertEquals(1, dev.mappings(3).size());
        assertEquals(Status.OK.code, send(new Request.Detach(3, NIC_SID)));
        assertFalse(dev.hasDomain(3));
        assertEquals(Status.NOENT.code, send(new Request.Unmap(3, 0, 0xffff)),
                "its ID is unknown now");
    }

    @Test
    @DisplayName("virtio spec (SHOULD, not in QEMU): an ATTACH to a domain ID outside domain_range "
            + "is RANGE")
    void domainRange() {
        VirtioIommuDevice d = VirtioFixture.device(VirtioFixture.params().domainRange(1, 8));
        String before = d.state();
        assertEquals(Status.RANGE.code, d.process(new Request.Attach(9, GPU_SID, 0)).status());
        assertEquals(Status.RANGE.code, d.process(new Request.Attach(0, GPU_SID, 0)).status());
        assertEquals(before, d.state());
        assertEquals(Status.OK.code, d.process(new Request.Attach(8, GPU_SID, 0)).status());
    }

    @Test
    @DisplayName("rule 101: request types outside ATTACH..PROBE (e.g. the unmerged ATTACH_TABLE "
            + "0x06) complete UNSUPP")
    void unknownType() {
        refused(Status.UNSUPP, new Request.Other(0x06));
        refused(Status.UNSUPP, new Request.Other(0x7f));
        assertEquals(List.of(Request.T_ATTACH, Request.T_DETACH, Request.T_MAP, Request.T_UNMAP,
                Request.T_PROBE), List.of(new Request.Attach(0, 0, 0).type(),
                        new Request.Detach(0, 0).type(), new Request.Map(0, 0, 0, 0, 0).type(),
                        new Request.Unmap(0, 0, 0).type(), new Request.Probe(0).type()));
        assertEquals(List.of(1, 2, 3, 4, 5), List.of(Request.T_ATTACH, Request.T_DETACH,
                Request.T_MAP, Request.T_UNMAP, Request.T_PROBE));
    }
}
