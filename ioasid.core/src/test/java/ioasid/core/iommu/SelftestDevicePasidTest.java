package ioasid.core.iommu;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOMEM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.Translation;

/**
 * The kernel's {@code iommufd_device_pasid} fixture and its one case, {@code pasid_attach}
 * ({@code tools/testing/selftests/iommu/iommufd.c}, Linux 6.18), translated to the IOMMU core
 * step by step: each test below is one group of its expectations, run in both variants as the
 * kernel runs the case. Rules 38, 39, 106, 107; D20, D21.
 *
 * <p>The fixture: a PASID-capable mock device (20 PASID bits) bound to iommufd (its DMA claimed)
 * and attached to an IOAS; the variant {@code no_pasid} adds a second mock device without PASID
 * support. The case's HWPTs are caller domains here: {@code s2_hwpt} a paging domain, the parent
 * a nesting parent, and the nested HWPTs {@code nested_hwpt_id[0..1]} plain paging domains, as
 * the in-kernel layer has no nested domains and what these steps check (attach, EBUSY, replace,
 * a failed replace keeping its domain) does not depend on nesting. {@code
 * test_cmd_pasid_check_hwpt} becomes a translation probe of the PASID: the domain it reaches,
 * or NO_PASID_ENTRY for none. The steps that rest on the iommufd-only HWPT flag {@code
 * IOMMU_HWPT_ALLOC_PASID} (PASID compatibility of the RID's HWPT), on an IOAS given where a HWPT
 * is expected, and on the IOPF-capable HWPT of PASID 2048 are listed in
 * docs/iommufd-selftests.md.
 */
class SelftestDevicePasidTest {
    private static final Object ICTX = "iommufd-ctx";

    private final IommuFixture fx = new IommuFixture();
    private final TestBackend be = fx.bind(new TestBackend("mock", 1 << 20)
            .device("pasid-dev", "g0", 20).device("no-pasid-dev", "g1", 0));
    private IommuDomain ioas;
    private IommuDomain parent;
    private IommuDomain s2;
    private IommuDomain nested0;
    private IommuDomain nested1;
    private IoasidSet set;

    /** FIXTURE_SETUP(iommufd_device_pasid) and the case's allocations. */
    private void setUp(String variant) {
        ioas = fx.iommu.domainAlloc("pasid-dev", false);
        fx.iommu.claimDevice("pasid-dev", ICTX);
        fx.iommu.attachDevice(ioas, "pasid-dev");
        if (variant.equals("no_pasid")) {
            fx.iommu.claimDevice("no-pasid-dev", ICTX);
            fx.iommu.attachDevice(ioas, "no-pasid-dev");
        }
        parent = fx.iommu.domainAlloc("pasid-dev", true);
        nested0 = fx.iommu.domainAlloc("pasid-dev", false);
        nested1 = fx.iommu.domainAlloc("pasid-dev", false);
        s2 = fx.iommu.domainAlloc("pasid-dev", false);
        set = fx.ioasid.createSet(TokenType.NONE, "iommufd-pasids", 8);
    }

    private IoasidHandle pasid(int id) {
        return fx.ioasid.alloc(set, id, id, null);
    }

    /** test_cmd_pasid_check_hwpt: the domain the PASID's DMA reaches, -1 for none. */
    private int hwptOf(IoasidHandle p) {
        Translation t = fx.probe("pasid-dev", p.id(), 0x1000);
        return "NO_PASID_ENTRY".equals(t.fault()) ? -1 : t.domainId();
    }

    @AfterEach
    void noViolations() {
        assertEquals(List.of(), be.violations, "the core named the wrong old domain");
    }

    @ParameterizedTest(name = "iommufd_device_pasid.{0}/pasid_attach: detach before attach")
    @ValueSource(strings = {"no_pasid", "has_pasid"})
    @DisplayName("iommufd_device_pasid/pasid_attach: detaching PASID 100 before anything is "
            + "attached \"should not result in failure\" (kernel: 0; D21, was EINVAL)")
    void detachBeforeAttach(String variant) {
        setUp(variant);
        IoasidHandle p = pasid(100);
        String before = fx.state();
        fx.iommu.detachDevicePasid(s2, "pasid-dev", p);
        assertEquals(before, fx.state());
        assertEquals(-1, hwptOf(p));
    }

    @ParameterizedTest(name = "iommufd_device_pasid.{0}/pasid_attach: attach, EBUSY, detach")
    @ValueSource(strings = {"no_pasid", "has_pasid"})
    @DisplayName("iommufd_device_pasid/pasid_attach: an object that is no domain of the device's "
            + "IOMMU is EINVAL and leaves no domain; s2 to PASID 100 succeeds; another HWPT over "
            + "it is EBUSY (\"use REPLACE instead\"); detach leaves no domain (kernel: EINVAL, 0, "
            + "EBUSY, 0)")
    void attachBusyDetach(String variant) {
        setUp(variant);
        IoasidHandle p = pasid(100);
        TestBackend other = fx.bind(new TestBackend("other", 1 << 20).device("x", "x", 20));
        IommuDomain foreign = fx.iommu.domainAlloc("x", false); // the IOAS stands for no domain
        fx.unchanged(EINVAL, () -> fx.iommu.attachDevicePasid(foreign, "pasid-dev", p));
        assertEquals(-1, hwptOf(p));
        fx.iommu.attachDevicePasid(s2, "pasid-dev", p);
        assertEquals(s2.id(), hwptOf(p));
        fx.unchanged(EBUSY, () -> fx.iommu.attachDevicePasid(nested0, "pasid-dev", p));
        fx.iommu.detachDevicePasid(s2, "pasid-dev", p);
        assertEquals(-1, hwptOf(p));
        assertTrue(other.pasids.isEmpty());
    }

    @ParameterizedTest(name = "iommufd_device_pasid.{0}/pasid_attach: attach the attached HWPT")
    @ValueSource(strings = {"no_pasid", "has_pasid"})
    @DisplayName("iommufd_device_pasid/pasid_attach: nested[0] to PASID 100, then nested[0] "
            + "again, \"which has been attached, should fail\" (kernel: 0, EBUSY)")
    void attachAttachedHwpt(String variant) {
        setUp(variant);
        IoasidHandle p = pasid(100);
        fx.iommu.attachDevicePasid(nested0, "pasid-dev", p);
        assertEquals(nested0.id(), hwptOf(p));
        fx.unchanged(EBUSY, () -> fx.iommu.attachDevicePasid(nested0, "pasid-dev", p));
        fx.iommu.detachDevicePasid(nested0, "pasid-dev", p);
    }

    @ParameterizedTest(name = "iommufd_device_pasid.{0}/pasid_attach: replace before attach")
    @ValueSource(strings = {"no_pasid", "has_pasid"})
    @DisplayName("iommufd_device_pasid/pasid_attach: replacing PASID 200 without attaching it "
            + "\"should fail with -EINVAL\" (kernel: EINVAL, rule 106)")
    void replaceBeforeAttach(String variant) {
        setUp(variant);
        IoasidHandle p = pasid(200);
        fx.unchanged(EINVAL, () -> fx.iommu.replaceDevicePasid(s2, "pasid-dev", p));
        assertEquals(-1, hwptOf(p));
    }

    @ParameterizedTest(name = "iommufd_device_pasid.{0}/pasid_attach: replace with a non-HWPT")
    @ValueSource(strings = {"no_pasid", "has_pasid"})
    @DisplayName("iommufd_device_pasid/pasid_attach: s2 on PASID 200, then a replace with an "
            + "object that is no domain of the device's IOMMU fails and \"domain should be the "
            + "prior s2 hwpt\" (kernel: 0, EINVAL)")
    void replaceWithIncompatible(String variant) {
        setUp(variant);
        IoasidHandle p = pasid(200);
        fx.iommu.attachDevicePasid(s2, "pasid-dev", p);
        fx.bind(new TestBackend("other", 1 << 20).device("x", "x", 20));
        IommuDomain foreign = fx.iommu.domainAlloc("x", false); // the IOAS stands for no domain
        fx.unchanged(EINVAL, () -> fx.iommu.replaceDevicePasid(foreign, "pasid-dev", p));
        assertEquals(s2.id(), hwptOf(p));
        fx.iommu.detachDevicePasid(s2, "pasid-dev", p);
    }

    @ParameterizedTest(name = "iommufd_device_pasid.{0}/pasid_attach: replace twice")
    @ValueSource(strings = {"no_pasid", "has_pasid"})
    @DisplayName("iommufd_device_pasid/pasid_attach: s2 on PASID 200 replaced by nested[0], then "
            + "by nested[1], each time with a valid domain; the PASID never leaves its attachment "
            + "(kernel: 0, 0, 0, 0)")
    void replaceTwice(String variant) {
        setUp(variant);
        IoasidHandle p = pasid(200);
        fx.iommu.attachDevicePasid(s2, "pasid-dev", p);
        int refs = p.refCount();
        fx.iommu.replaceDevicePasid(nested0, "pasid-dev", p);
        assertEquals(nested0.id(), hwptOf(p));
        fx.iommu.replaceDevicePasid(nested1, "pasid-dev", p);
        assertEquals(nested1.id(), hwptOf(p));
        assertEquals(refs, p.refCount(), "no reference taken or dropped by a replace");
        assertEquals(List.of("ALLOC " + p.id(), "BIND " + p.id()), fx.events,
                "no UNBIND/BIND on the way");
        assertEquals(2, be.replaces.stream().filter(r -> r.startsWith("pasid-dev:200 ")).count(),
                "each backend step was a replace in place: " + be.replaces);
        fx.iommu.detachDevicePasid(nested1, "pasid-dev", p);
        assertEquals(-1, hwptOf(p));
    }

    @ParameterizedTest(name = "iommufd_device_pasid.{0}/pasid_attach: failed replace")
    @ValueSource(strings = {"no_pasid", "has_pasid"})
    @DisplayName("iommufd_device_pasid/pasid_attach: s2 on PASID 1024, whose replace the mock "
            + "driver fails by design; the replace by nested[0] fails \"but have the old valid "
            + "domain\" (kernel: 0, ENOMEM)")
    void failedReplaceKeepsDomain(String variant) {
        setUp(variant);
        be.failPasidReplace.add(1024);
        IoasidHandle p = pasid(1024);
        fx.iommu.attachDevicePasid(s2, "pasid-dev", p);
        fx.unchanged(ENOMEM, () -> fx.iommu.replaceDevicePasid(nested0, "pasid-dev", p));
        assertEquals(s2.id(), hwptOf(p));
        fx.iommu.detachDevicePasid(s2, "pasid-dev", p);
    }

    @ParameterizedTest(name = "iommufd_device_pasid.{0}/pasid_attach: RID replace")
    @ValueSource(strings = {"no_pasid", "has_pasid"})
    @DisplayName("iommufd_device_pasid/pasid_attach: the RID replaced onto s2, a PASID attached, "
            + "the RID replaced back to the IOAS at the end; the PASID is not touched (kernel: "
            + "0, 0, 0)")
    void ridReplaceLeavesPasids(String variant) {
        setUp(variant);
        IoasidHandle p = pasid(100);
        fx.iommu.replaceDeviceDomain("pasid-dev", s2);
        fx.iommu.attachDevicePasid(nested0, "pasid-dev", p);
        assertEquals(s2.id(), fx.probe("pasid-dev", 0, 0x1000).domainId());
        fx.iommu.replaceDeviceDomain("pasid-dev", ioas);
        assertEquals(ioas.id(), fx.probe("pasid-dev", 0, 0x1000).domainId());
        assertEquals(nested0.id(), hwptOf(p));
    }

    @Test
    @DisplayName("iommufd_device_pasid.no_pasid/pasid_attach: PASID 100 of the device without "
            + "PASID support fails whatever the domain, the parent or s2 (kernel: EINVAL, "
            + "EINVAL)")
    void noPasidDeviceRefusesPasids() {
        setUp("no_pasid");
        IoasidHandle p = pasid(100);
        fx.unchanged(EINVAL, () -> fx.iommu.attachDevicePasid(parent, "no-pasid-dev", p));
        fx.unchanged(EINVAL, () -> fx.iommu.attachDevicePasid(s2, "no-pasid-dev", p));
    }

    @Test
    @DisplayName("iommufd_device_pasid.no_pasid/pasid_attach: a domain a PASID of another device "
            + "uses serves the RID of the device without PASID support, and the RID goes back "
            + "to the IOAS (kernel: 0, 0)")
    void pasidDomainServesNoPasidRid() {
        setUp("no_pasid");
        IoasidHandle p = pasid(100);
        fx.iommu.replaceDeviceDomain("pasid-dev", s2);
        fx.iommu.attachDevicePasid(nested0, "pasid-dev", p);
        fx.iommu.replaceDeviceDomain("no-pasid-dev", nested0);
        assertEquals(nested0.id(), fx.probe("no-pasid-dev", 0, 0x1000).domainId());
        fx.iommu.replaceDeviceDomain("no-pasid-dev", ioas);
        assertEquals(ioas.id(), fx.probe("no-pasid-dev", 0, 0x1000).domainId());
        assertEquals(nested0.id(), hwptOf(p));
    }
}
