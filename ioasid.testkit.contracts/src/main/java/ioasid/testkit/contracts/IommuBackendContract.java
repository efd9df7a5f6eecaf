package ioasid.testkit.contracts;

import static ioasid.testkit.contracts.Checks.hex;
import static ioasid.testkit.contracts.Checks.refused;
import static ioasid.testkit.contracts.Checks.refusedWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.BackendViommu;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;

/**
 * The contract of an {@link IommuBackend}, checked by playing the IOMMU core against it: the
 * suite calls the SPI directly, as the core would, and reads the hardware's answer through
 * {@link IommuBackend#translate} (what one DMA does now) and {@link BackendDomain#iovaToPhys}.
 *
 * <p>Extend it in the backend's unit tests and implement the three factory methods, which stand
 * for the component's life cycle: {@link #createBackend} is the activation with a configuration
 * listing the devices, {@link #reconfigure} a configuration change, {@link #leave} the
 * deactivation when the bundle stops. For example:
 *
 * <pre>
 * class MyBackendContractTest extends IommuBackendContract {
 *     protected IommuBackend createBackend(List&lt;DeviceInfo&gt; devices) {
 *         return new MyBackend(config(specs(devices)), Map.of());
 *     }
 *     protected void reconfigure(IommuBackend b, List&lt;DeviceInfo&gt; devices) {
 *         ((MyBackend) b).modified(config(specs(devices)), Map.of());
 *     }
 *     protected void leave(IommuBackend b) {
 *         ((MyBackend) b).deactivate();
 *     }
 * }
 * </pre>
 *
 * <p>What is checked, each test naming its rule: domain allocation against the capabilities;
 * map, unmap and iova_to_phys with partial unmaps, holes and every page size (rules 56-58); the
 * IOTLB: nothing stale after a sync, a flush or a PASID removal (rules 58, 96); the attach
 * invariant, during a switch DMA reaches the old or the new domain only (rule 44, D18, seed
 * 001), also when the switch is a replace ({@link IommuBackend#replaceDev},
 * {@link IommuBackend#replaceDevPasid}: the new domain at once, the current one a no-op, a
 * refused one leaving the old; rules 105, 106); PASID limits: PASID 0, the device's width, a present PASID (rules 33-39, 95); teardown
 * order (rule 96); departure (D17); refused configurations ({@link IommuBackend#failure},
 * {@link IommuBackend#refusedChange}); concurrent data-path calls. Tests that need PASIDs, a
 * second page size, nesting or the absence of default domains are skipped when the
 * capabilities say the backend has none.
 *
 * <p>The suite keeps to the calling contract of {@link IommuBackend}: configuration calls one
 * at a time, arguments as the core checks them (aligned, inside the aperture, devices it
 * serves), no page-table call on a domain while it is freed, and nothing but the probes named in
 * the departure test after the backend left. Each test has a minute; a backend that deadlocks
 * fails it.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class IommuBackendContract {
    /** Read and write. */
    protected static final int RW = Prot.READ | Prot.WRITE;
    /** Where the suite maps: above the first MiB, far below the x86 MSI window. */
    private static final long IOVA_BASE = 0x10_0000L;
    private static final long PA_BASE = 0x4000_0000L;
    private static final long GIB = 1L << 30;
    private static final List<DomainType> PLAIN_TYPES = List.of(DomainType.BLOCKED,
            DomainType.IDENTITY, DomainType.UNMANAGED, DomainType.DMA, DomainType.DMA_FQ);

    private final List<IommuBackend> live = new ArrayList<>();
    private final Map<IommuBackend, IommuCaps> capsRead = new IdentityHashMap<>();

    /**
     * A new instance serving {@code devices}, as the component is activated with a
     * configuration listing them (in {@link DeviceInfo#parse} form, see {@link #specs}). A
     * configuration the backend refuses must still give an instance, whose
     * {@link IommuBackend#failure()} says why: do not throw.
     */
    protected abstract IommuBackend createBackend(List<DeviceInfo> devices);

    /** A change of the instance's configuration to list {@code devices}, as DS modifies it. */
    protected abstract void reconfigure(IommuBackend backend, List<DeviceInfo> devices);

    /** The instance leaves, as its component is deactivated when its bundle stops (D17). */
    protected abstract void leave(IommuBackend backend);

    /**
     * The {@code index}-th device a test uses, from 0. By default the PCI function
     * {@code 0000:00:NN.0}, NN = index + 1, in a group of its own, with its requester ID as
     * stream ID; override when the hardware names its endpoints otherwise.
     */
    protected DeviceInfo device(int index, int pasidBits) {
        int dev = index + 1;
        String name = String.format("0000:00:%02x.0", dev);
        return new DeviceInfo(name, name, (long) dev << 3, pasidBits);
    }

    /** A device in {@link DeviceInfo#parse} form, {@code name;sid=0x..;group=..;pasid=N}. */
    public static String spec(DeviceInfo d) {
        return d.name() + ";sid=0x" + Long.toHexString(d.streamId()) + ";group=" + d.groupKey()
                + ";pasid=" + d.pasidBits();
    }

    /** Devices in {@link DeviceInfo#parse} form, for a configuration's device list. */
    public static String[] specs(List<DeviceInfo> devices) {
        return devices.stream().map(IommuBackendContract::spec).toArray(String[]::new);
    }

    /** Leaves every instance the test created and did not leave itself. */
    @AfterEach
    protected final void leaveWhatIsLive() {
        List<IommuBackend> all = new ArrayList<>(live);
        live.clear();
        for (IommuBackend b : all) {
            leave(b);
        }
    }

    // ------------------------------------------------------------------ fixtures

    /** The devices of most tests: 20 PASID bits, 5 PASID bits, no PASID capability. */
    private List<DeviceInfo> standardDevices() {
        return List.of(device(0, 20), device(1, 5), device(2, 0));
    }

    private String dev(int index) {
        return standardDevices().get(index).name();
    }

    /** A live backend, left after the test. */
    private IommuBackend backend(List<DeviceInfo> devices) {
        IommuBackend b = createBackend(devices);
        assertNotNull(b, "createBackend returned null");
        live.add(b);
        assertNull(b.failure(), "a valid configuration was refused: " + b.failure());
        return b;
    }

    private IommuBackend backend() {
        return backend(standardDevices());
    }

    private void left(IommuBackend b) {
        live.remove(b);
        leave(b);
    }

    /** Read once per instance, as the core does when it binds the service. */
    private IommuCaps caps(IommuBackend b) {
        return capsRead.computeIfAbsent(b, x -> {
            IommuCaps c = x.caps();
            assertNotNull(c, "caps() returned null");
            return c;
        });
    }

    private static DomainType pagingType(IommuCaps c) {
        for (DomainType t : List.of(DomainType.UNMANAGED, DomainType.DMA, DomainType.DMA_FQ)) {
            if (c.supports(t)) {
                return t;
            }
        }
        return null;
    }

    private BackendDomain paging(IommuBackend b) {
        DomainType t = pagingType(caps(b));
        assumeTrue(t != null, "the backend has no paging domains");
        BackendDomain d = b.domainAlloc(t, false);
        assertNotNull(d, "domainAlloc(" + t + ") returned null (the core counts it as EIO)");
        return d;
    }

    private BackendDomain alloc(IommuBackend b, DomainType t) {
        BackendDomain d = b.domainAlloc(t, false);
        assertNotNull(d, "domainAlloc(" + t + ") returned null (the core counts it as EIO)");
        return d;
    }

    private static long page(BackendDomain d) {
        return Long.lowestOneBit(d.pgsizeBitmap());
    }

    private static long iova(BackendDomain d, long k) {
        long p = page(d);
        return alignUp(IOVA_BASE, p) + k * p;
    }

    private static long pa(BackendDomain d, long k) {
        long p = page(d);
        return alignUp(PA_BASE, p) + k * p;
    }

    private static long alignUp(long v, long to) {
        return (v + to - 1) & -to;
    }

    /** Maps as the core does: the pages, then iotlbSyncMap on success (rule 57). */
    private static void map(BackendDomain d, long iova, long pa, long pgsize, long count,
            int prot) {
        d.mapPages(iova, pa, pgsize, count, prot);
        d.iotlbSyncMap(iova, pgsize * count);
    }

    private static void map(BackendDomain d, long iova, long pa, long pages) {
        map(d, iova, pa, page(d), pages, RW);
    }

    /** Unmaps as the core's iommu_unmap does: the pages, then iotlbSync of what was gathered. */
    private static long unmapSync(BackendDomain d, long iova, long pgsize, long count) {
        IotlbGather g = new IotlbGather();
        long n = d.unmapPages(iova, pgsize, count, g);
        if (!g.isEmpty()) {
            d.iotlbSync(g);
        }
        return n;
    }

    private static Walk read(IommuBackend b, String dev, int pasid, long iova) {
        Walk w = b.translate(dev, pasid, iova, Access.READ);
        assertNotNull(w, "translate returned null");
        return w;
    }

    private static void assertTranslated(Walk w, long pa, BackendDomain d, String what) {
        assertEquals(Translation.Outcome.TRANSLATED, w.outcome(), what + ": " + w);
        assertEquals(hex(pa), hex(w.physAddr()), what + ": " + w);
        assertSame(d, w.domain(), what + ": translated by " + w.domain() + ", not " + d);
    }

    private static void assertFault(Walk w, String what) {
        assertEquals(Translation.Outcome.FAULT, w.outcome(), what + ": " + w);
    }

    private static void assertNotTranslated(Walk w, String what) {
        assertNotEquals(Translation.Outcome.TRANSLATED, w.outcome(), what + ": " + w);
    }

    /**
     * DMA to pages {@code from} to {@code to - 1} of the test addresses of device 0, so that the
     * IOTLB holds what is mapped there.
     */
    private void warm(IommuBackend b, BackendDomain d, int from, int to) {
        for (int k = from; k < to; k++) {
            read(b, dev(0), 0, iova(d, k));
        }
    }

    /** What DMA to {@code iova} does on a device whose DMA goes to {@code d} alone. */
    private static void assertReaches(Walk w, BackendDomain d, long iova, long pa, String what) {
        switch (d.type()) {
            case BLOCKED:
                assertFault(w, what + " (blocked domain)");
                break;
            case IDENTITY:
                assertTrue(w.outcome() == Translation.Outcome.BYPASS
                        || w.outcome() == Translation.Outcome.TRANSLATED && w.physAddr() == iova,
                        what + " (identity domain): " + w);
                break;
            default:
                assertTranslated(w, pa, d, what);
        }
    }

    private static void assertMapped(BackendDomain d, long iova, long pa, String what) {
        assertEquals(hex(pa), hex(d.iovaToPhys(iova)), what + ": iova_to_phys(" + hex(iova) + ")");
    }

    private static void assertUnmapped(BackendDomain d, long iova, String what) {
        assertEquals(hex(0), hex(d.iovaToPhys(iova)), what + ": iova_to_phys(" + hex(iova)
                + ") of an unmapped IOVA (rule 56 answers 0)");
    }

    private int pasidLimit(IommuBackend b, DeviceInfo d) {
        long dev = d.pasidBits() == 0 ? 0 : 1L << d.pasidBits();
        return (int) Math.min(dev, caps(b).maxPasids());
    }

    private void assumePasids(IommuBackend b) {
        assumeTrue(caps(b).maxPasids() > 0, "the backend supports no PASIDs");
    }

    // ------------------------------------------------------------------ domains

    @Test
    @DisplayName("rules 40, 57: every domain type the caps name is allocated with that type; "
            + "paging domains map with page sizes the caps name")
    public void domainTypesOfTheCaps() {
        IommuBackend b = backend();
        IommuCaps c = caps(b);
        assertNotNull(c.vendor(), "caps without a vendor");
        assertNotEquals(0L, c.pgsizeBitmap(), "caps without a page size");
        assertFalse(c.domainTypes().isEmpty(), "caps without a domain type");
        for (DomainType t : PLAIN_TYPES) {
            if (!c.supports(t)) {
                continue;
            }
            BackendDomain d = alloc(b, t);
            assertEquals(t, d.type(), "domainAlloc(" + t + ")");
            if (t.isPaging()) {
                long bm = d.pgsizeBitmap();
                assertNotEquals(0L, bm, "a paging domain without page sizes (rule 57: ENODEV)");
                assertEquals(0L, bm & ~c.pgsizeBitmap(), "page sizes 0x" + Long.toHexString(bm)
                        + " beyond the caps' 0x" + Long.toHexString(c.pgsizeBitmap()));
                assertTrue(Long.compareUnsigned(d.apertureEnd(), iova(d, 64)) > 0,
                        "aperture ends at " + hex(d.apertureEnd()));
            }
            d.free();
        }
    }

    @Test
    @DisplayName("D2, rule 57: a domain type the caps do not name is EOPNOTSUPP")
    public void typesTheCapsDoNotName() {
        IommuBackend b = backend();
        List<DomainType> missing = new ArrayList<>();
        for (DomainType t : PLAIN_TYPES) {
            if (!caps(b).supports(t)) {
                missing.add(t);
            }
        }
        assumeFalse(missing.isEmpty(), "the backend allocates every domain type");
        for (DomainType t : missing) {
            refusedWith(EnumSet.of(Errno.EOPNOTSUPP), "domainAlloc(" + t + ")",
                    () -> b.domainAlloc(t, false));
        }
    }

    @Test
    @DisplayName("rule 89: without nesting a nesting parent is EOPNOTSUPP; with it, a paging "
            + "nesting parent carries a vIOMMU")
    public void nestingParents() {
        IommuBackend b = backend();
        DomainType t = pagingType(caps(b));
        assumeTrue(t != null, "the backend has no paging domains");
        if (!caps(b).nesting()) {
            refusedWith(EnumSet.of(Errno.EOPNOTSUPP), "domainAlloc(" + t + ", nesting parent)",
                    () -> b.domainAlloc(t, true));
            return;
        }
        BackendDomain parent = b.domainAlloc(DomainType.UNMANAGED, true);
        assertNotNull(parent, "a nesting parent");
        BackendViommu v = b.viommuAlloc(parent);
        assertNotNull(v, "viommuAlloc returned null (the core counts it as EIO)");
        v.destroy();
        parent.free();
    }

    @Test
    @DisplayName("rule 57: a domain's page sizes are those fixed at allocation, also once it is "
            + "freed and once its backend left")
    public void pageSizesOutliveTheDomain() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        BackendDomain kept = paging(b);
        long bm = d.pgsizeBitmap();
        d.free();
        assertEquals(bm, d.pgsizeBitmap(), "page sizes of a freed domain");
        left(b);
        assertEquals(bm, kept.pgsizeBitmap(), "page sizes of a domain whose backend left");
    }

    // ------------------------------------------------------------------ map, unmap, iova_to_phys

    @Test
    @DisplayName("rules 56, 57: a mapping of each page size the domain offers translates at "
            + "every offset; around it nothing does")
    public void everyPageSizeTranslates() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        b.attachDev(dev(0), d);
        for (long s : pageSizes(d)) {
            long iova = s * 4;
            long pa = s * 8;
            map(d, iova, pa, s, 1, RW);
            for (long off : offsets(s, page(d))) {
                assertMapped(d, iova + off, pa + off, "page of " + hex(s));
                assertTranslated(read(b, dev(0), 0, iova + off), pa + off, d,
                        "read in a page of " + hex(s));
                assertTranslated(b.translate(dev(0), 0, iova + off, Access.WRITE), pa + off, d,
                        "write in a page of " + hex(s));
            }
            assertUnmapped(d, iova + s, "after a page of " + hex(s));
            assertUnmapped(d, iova - page(d), "before a page of " + hex(s));
            assertFault(read(b, dev(0), 0, iova + s), "DMA after a page of " + hex(s));
            assertEquals(hex(s), hex(unmapSync(d, iova, s, 1)), "unmap of a page of " + hex(s));
            assertUnmapped(d, iova, "unmapped page of " + hex(s));
            assertFault(read(b, dev(0), 0, iova), "DMA to an unmapped page of " + hex(s));
        }
    }

    /** The page sizes up to 1 GiB whose test address fits the aperture, smallest first. */
    private static List<Long> pageSizes(BackendDomain d) {
        List<Long> out = new ArrayList<>();
        for (long bm = d.pgsizeBitmap(); bm != 0; bm &= bm - 1) {
            long s = Long.lowestOneBit(bm);
            if (s <= GIB && Long.compareUnsigned(s * 5 - 1, d.apertureEnd()) <= 0) {
                out.add(s);
            }
        }
        return out;
    }

    private static List<Long> offsets(long size, long page) {
        List<Long> out = new ArrayList<>();
        for (long off : new long[] {0, page, size / 2, size - page, size - 1}) {
            if (off >= 0 && off < size && !out.contains(off)) {
                out.add(off);
            }
        }
        return out;
    }

    @Test
    @DisplayName("rules 57, 58: a larger page between two small ones: each maps at its own "
            + "alignment and unmaps without touching its neighbours")
    public void pageSizesSideBySide() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        b.attachDev(dev(0), d);
        List<Long> sizes = pageSizes(d);
        assumeTrue(sizes.size() > 1, "the domain maps with one page size only");
        long p = sizes.get(0);
        long large = sizes.get(1);
        long at = large * 4;
        map(d, at - p, large * 16, p, 1, RW);
        map(d, at, large * 8, large, 1, RW);
        map(d, at + large, large * 16 + p, p, 1, RW);
        assertTranslated(read(b, dev(0), 0, at - p), large * 16, d, "small page before");
        assertTranslated(read(b, dev(0), 0, at + large - 1), large * 8 + large - 1, d,
                "last byte of the large page");
        assertTranslated(read(b, dev(0), 0, at + large), large * 16 + p, d, "small page after");
        assertEquals(hex(p), hex(unmapSync(d, at - p, p, 1)), "the small page before");
        assertMapped(d, at, large * 8, "the large page, its neighbour unmapped");
        assertTranslated(read(b, dev(0), 0, at), large * 8, d, "the large page");
        assertEquals(hex(large), hex(unmapSync(d, at, large, 1)), "the large page");
        assertUnmapped(d, at + large / 2, "the large page, unmapped");
        assertFault(read(b, dev(0), 0, at + large / 2), "DMA into the unmapped large page");
        assertMapped(d, at + large, large * 16 + p, "the small page after");
        assertTranslated(read(b, dev(0), 0, at + large), large * 16 + p, d, "small page after");
    }

    @Test
    @DisplayName("rule 57: a mapping grants what its prot names: a write through a read-only "
            + "mapping faults")
    public void readOnlyMapping() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        b.attachDev(dev(0), d);
        map(d, iova(d, 0), pa(d, 0), page(d), 1, Prot.READ);
        assertTranslated(read(b, dev(0), 0, iova(d, 0)), pa(d, 0), d, "read");
        assertFault(b.translate(dev(0), 0, iova(d, 0), Access.WRITE),
                "write through a read-only mapping");
    }

    @Test
    @DisplayName("rule 57: a map over a page mapped already is EEXIST and leaves nothing of "
            + "itself mapped")
    public void mapOverAMappedPage() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        b.attachDev(dev(0), d);
        long p = page(d);
        map(d, iova(d, 1), pa(d, 100), 1);
        refusedWith(EnumSet.of(Errno.EEXIST), "map of 3 pages over a mapped one",
                () -> d.mapPages(iova(d, 0), pa(d, 0), p, 3, RW));
        assertUnmapped(d, iova(d, 0), "first page of the refused map");
        assertUnmapped(d, iova(d, 2), "last page of the refused map");
        assertMapped(d, iova(d, 1), pa(d, 100), "the page that was mapped");
        assertFault(read(b, dev(0), 0, iova(d, 2)), "DMA to the refused map's last page");
        assertTranslated(read(b, dev(0), 0, iova(d, 1)), pa(d, 100), d, "the page mapped before");
    }

    @Test
    @DisplayName("rule 58: unmap stops at the first hole and leaves what lies beyond it")
    public void unmapStopsAtAHole() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        b.attachDev(dev(0), d);
        long p = page(d);
        map(d, iova(d, 0), pa(d, 0), 1);
        map(d, iova(d, 2), pa(d, 2), 1);
        warm(b, d, 0, 3);
        assertEquals(hex(p), hex(unmapSync(d, iova(d, 0), p, 3)), "bytes unmapped up to the hole");
        assertUnmapped(d, iova(d, 0), "page before the hole");
        assertMapped(d, iova(d, 2), pa(d, 2), "page beyond the hole");
        assertTranslated(read(b, dev(0), 0, iova(d, 2)), pa(d, 2), d, "DMA beyond the hole");
        assertFault(read(b, dev(0), 0, iova(d, 0)), "DMA before the hole");
    }

    @Test
    @DisplayName("rule 58: unmapping where nothing is mapped answers 0 and gathers nothing")
    public void unmapNothing() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        b.attachDev(dev(0), d);
        IotlbGather g = new IotlbGather();
        assertEquals(0L, d.unmapPages(iova(d, 0), page(d), 4, g), "bytes unmapped");
        assertTrue(g.isEmpty(), "gathered " + g);
    }

    @Test
    @DisplayName("rule 58: unmapping the head of a mapping unmaps at least what was asked; what "
            + "it reports is gathered and gone, the rest still maps")
    public void unmapTheHeadOfAMapping() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        b.attachDev(dev(0), d);
        long p = page(d);
        map(d, iova(d, 0), pa(d, 0), 4);
        warm(b, d, 0, 4);
        IotlbGather g = new IotlbGather();
        long n = d.unmapPages(iova(d, 0), p, 2, g);
        assertTrue(n >= 2 * p && n <= 4 * p && n % p == 0, "unmapped " + hex(n) + " of the "
                + hex(4 * p) + " mapped, " + hex(2 * p) + " asked");
        assertTrue(!g.isEmpty() && g.start() <= iova(d, 0) && g.end() >= iova(d, 0) + n - 1,
                "gathered " + g + " for " + hex(n) + " from " + hex(iova(d, 0)));
        d.iotlbSync(g);
        for (int k = 0; k < 4; k++) {
            if (k * p < n) {
                assertUnmapped(d, iova(d, k), "page " + k);
                assertFault(read(b, dev(0), 0, iova(d, k)), "DMA to unmapped page " + k);
            } else {
                assertMapped(d, iova(d, k), pa(d, k), "page " + k + " past what was unmapped");
                assertTranslated(read(b, dev(0), 0, iova(d, k)), pa(d, k), d, "page " + k);
            }
        }
    }

    @Test
    @DisplayName("rules 58, 102: an unmap that starts inside a mapping unmaps from there, or "
            + "nothing where the hardware cannot split a mapping")
    public void unmapFromInsideAMapping() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        b.attachDev(dev(0), d);
        long p = page(d);
        map(d, iova(d, 0), pa(d, 0), 4);
        warm(b, d, 0, 4);
        long n = unmapSync(d, iova(d, 2), p, 2);
        assertTrue(n == 0 || n == 2 * p, "unmapped " + hex(n) + " from page 2 of 4");
        for (int k = 0; k < 4; k++) {
            if (n != 0 && k >= 2) {
                assertUnmapped(d, iova(d, k), "page " + k);
                assertFault(read(b, dev(0), 0, iova(d, k)), "DMA to unmapped page " + k);
            } else {
                assertMapped(d, iova(d, k), pa(d, k), "page " + k);
                assertTranslated(read(b, dev(0), 0, iova(d, k)), pa(d, k), d, "page " + k);
            }
        }
    }

    @Test
    @DisplayName("rule 58: unmapping the head of a larger page unmaps at least that much; what "
            + "it reports is gone, the rest of the page still maps")
    public void unmapPartOfALargerPage() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        b.attachDev(dev(0), d);
        List<Long> sizes = pageSizes(d);
        assumeTrue(sizes.size() > 1, "the domain maps with one page size only");
        long p = sizes.get(0);
        long large = sizes.get(1);
        long iova = large * 4;
        long pa = large * 8;
        map(d, iova, pa, large, 1, RW);
        long[] probes = {0, p, large / 2, large - p};
        for (long off : probes) {
            assertTranslated(read(b, dev(0), 0, iova + off), pa + off, d, "inside the large page");
        }
        IotlbGather g = new IotlbGather();
        long n = d.unmapPages(iova, p, 1, g);
        assertTrue(n >= p && n <= large && n % p == 0, "unmapped " + hex(n) + " of a page of "
                + hex(large) + ", " + hex(p) + " asked");
        assertTrue(!g.isEmpty() && g.start() <= iova && g.end() >= iova + n - 1, "gathered " + g);
        d.iotlbSync(g);
        for (long off : new long[] {0, p, n - p, n, large / 2, large - p}) {
            if (off >= large) {
                continue;
            }
            if (off < n) {
                assertUnmapped(d, iova + off, "offset " + hex(off));
                assertFault(read(b, dev(0), 0, iova + off), "DMA at unmapped offset " + hex(off));
            } else {
                assertMapped(d, iova + off, pa + off, "offset " + hex(off) + " kept");
                assertTranslated(read(b, dev(0), 0, iova + off), pa + off, d,
                        "offset " + hex(off) + " kept");
            }
        }
    }

    // ------------------------------------------------------------------ IOTLB

    @Test
    @DisplayName("rule 58: after unmap and iotlbSync the unmapped IOVA faults, also when the "
            + "IOTLB held its translation")
    public void syncLeavesNothingStale() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        b.attachDev(dev(0), d);
        long p = page(d);
        map(d, iova(d, 0), pa(d, 0), 2);
        assertTranslated(read(b, dev(0), 0, iova(d, 0)), pa(d, 0), d, "first page, cached");
        assertTranslated(read(b, dev(0), 0, iova(d, 1)), pa(d, 1), d, "second page, cached");
        IotlbGather g = new IotlbGather();
        assertEquals(hex(2 * p), hex(d.unmapPages(iova(d, 0), p, 2, g)), "bytes unmapped");
        d.iotlbSync(g);
        assertFault(read(b, dev(0), 0, iova(d, 0)), "first page after the sync returned");
        assertFault(read(b, dev(0), 0, iova(d, 1)), "second page after the sync returned");
    }

    @Test
    @DisplayName("rule 58, seed 002: flushIotlbAll drops every translation the domain cached, "
            + "after unmaps that were only gathered")
    public void flushAllLeavesNothingStale() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        b.attachDev(dev(0), d);
        long p = page(d);
        map(d, iova(d, 0), pa(d, 0), 1);
        map(d, iova(d, 5), pa(d, 5), 1);
        assertTranslated(read(b, dev(0), 0, iova(d, 0)), pa(d, 0), d, "first mapping, cached");
        assertTranslated(read(b, dev(0), 0, iova(d, 5)), pa(d, 5), d, "second mapping, cached");
        // unmap_fast: gathered and never synced
        assertEquals(hex(p), hex(d.unmapPages(iova(d, 0), p, 1, new IotlbGather())));
        assertEquals(hex(p), hex(d.unmapPages(iova(d, 5), p, 1, new IotlbGather())));
        d.flushIotlbAll();
        assertFault(read(b, dev(0), 0, iova(d, 0)), "first mapping after flushIotlbAll");
        assertFault(read(b, dev(0), 0, iova(d, 5)), "second mapping after flushIotlbAll");
    }

    @Test
    @DisplayName("rule 57: after map and iotlbSyncMap DMA translates at once, also to an IOVA "
            + "that faulted just before")
    public void syncMapMakesMappingsVisible() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        b.attachDev(dev(0), d);
        assertFault(read(b, dev(0), 0, iova(d, 3)), "DMA before the map");
        map(d, iova(d, 3), pa(d, 3), 1);
        assertTranslated(read(b, dev(0), 0, iova(d, 3)), pa(d, 3), d, "DMA after the map");
    }

    @Test
    @DisplayName("rule 58: an IOVA unmapped, synced and mapped again translates to its new "
            + "address")
    public void remapTranslatesToTheNewAddress() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        b.attachDev(dev(0), d);
        long p = page(d);
        map(d, iova(d, 0), pa(d, 0), 1);
        assertTranslated(read(b, dev(0), 0, iova(d, 0)), pa(d, 0), d, "first address, cached");
        assertEquals(hex(p), hex(unmapSync(d, iova(d, 0), p, 1)));
        map(d, iova(d, 0), pa(d, 40), 1);
        assertMapped(d, iova(d, 0), pa(d, 40), "mapped again");
        assertTranslated(read(b, dev(0), 0, iova(d, 0)), pa(d, 40), d, "DMA after the remap");
    }

    @Test
    @DisplayName("rule 58: one iotlbSync reaches every device and PASID the domain is "
            + "installed at")
    public void syncReachesEveryAttachment() {
        IommuBackend b = backend();
        BackendDomain d = paging(b);
        long p = page(d);
        b.attachDev(dev(0), d);
        b.attachDev(dev(1), d);
        map(d, iova(d, 0), pa(d, 0), 1);
        boolean pasids = caps(b).maxPasids() > 1;
        BackendDomain r0 = null;
        BackendDomain r1 = null;
        if (pasids) {
            // DMA without PASID moves elsewhere; the domain stays at a PASID of each device
            r0 = paging(b);
            r1 = paging(b);
            b.attachDev(dev(0), r0);
            b.attachDev(dev(1), r1);
            b.setDevPasid(dev(0), 1, d);
            b.setDevPasid(dev(1), 1, d);
        }
        int pasid = pasids ? 1 : Ioasid.NO_PASID;
        assertTranslated(read(b, dev(0), pasid, iova(d, 0)), pa(d, 0), d, "first device, cached");
        assertTranslated(read(b, dev(1), pasid, iova(d, 0)), pa(d, 0), d, "second device, cached");
        assertEquals(hex(p), hex(unmapSync(d, iova(d, 0), p, 1)));
        assertFault(read(b, dev(0), pasid, iova(d, 0)), "first device after the sync");
        assertFault(read(b, dev(1), pasid, iova(d, 0)), "second device after the sync");
        if (pasids) {
            b.removeDevPasid(dev(0), 1, d);
            b.removeDevPasid(dev(1), 1, d);
        }
    }

    // ------------------------------------------------------------------ attach

    /** Paging domains that map the test IOVA each to an address of their own. */
    private List<BackendDomain> mappedDomains(IommuBackend b, int n) {
        List<BackendDomain> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            BackendDomain d = paging(b);
            map(d, iova(d, 0), pa(d, 10 + i), 1);
            out.add(d);
        }
        return out;
    }

    /** The test IOVA's address in {@code d}, from the pattern of {@link #mappedDomains}. */
    private static long paIn(List<BackendDomain> domains, BackendDomain d) {
        return pa(d, 10 + domains.indexOf(d));
    }

    @Test
    @DisplayName("rule 44: attaching the domain a device is on again succeeds and changes "
            + "nothing")
    public void attachTheCurrentDomainAgain() {
        IommuBackend b = backend();
        List<BackendDomain> ds = mappedDomains(b, 1);
        BackendDomain d = ds.get(0);
        b.attachDev(dev(0), d);
        assertTranslated(read(b, dev(0), 0, iova(d, 0)), paIn(ds, d), d, "attached");
        b.attachDev(dev(0), d);
        assertTranslated(read(b, dev(0), 0, iova(d, 0)), paIn(ds, d), d, "attached again");
    }

    @Test
    @DisplayName("rule 44: a device goes back to a domain it was attached to before, the switch "
            + "the core's undo relies on")
    public void attachAPreviousDomainAgain() {
        IommuBackend b = backend();
        List<BackendDomain> ds = mappedDomains(b, 2);
        BackendDomain d1 = ds.get(0);
        BackendDomain d2 = ds.get(1);
        long x = iova(d1, 0);
        b.attachDev(dev(0), d1);
        b.attachDev(dev(0), d2);
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, d2), d2, "on the second domain");
        b.attachDev(dev(0), d1);
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, d1), d1, "back on the first domain");
        if (caps(b).supports(DomainType.BLOCKED)) {
            BackendDomain blocked = alloc(b, DomainType.BLOCKED);
            b.attachDev(dev(0), blocked);
            assertFault(read(b, dev(0), 0, x), "on the blocking domain");
            b.attachDev(dev(0), d1);
            assertTranslated(read(b, dev(0), 0, x), paIn(ds, d1), d1, "back from blocking");
        }
    }

    /** Three paging domains, then the blocking and identity domains the caps name. */
    private List<BackendDomain> switchCycle(IommuBackend b, List<BackendDomain> paging) {
        List<BackendDomain> cycle = new ArrayList<>(paging);
        if (caps(b).supports(DomainType.BLOCKED)) {
            cycle.add(alloc(b, DomainType.BLOCKED));
        }
        if (caps(b).supports(DomainType.IDENTITY)) {
            cycle.add(alloc(b, DomainType.IDENTITY));
        }
        return cycle;
    }

    @Test
    @DisplayName("rule 44, D18: after each switch DMA reaches the new domain, with its mappings")
    public void eachSwitchSettlesOnTheNewDomain() {
        IommuBackend b = backend();
        List<BackendDomain> ds = mappedDomains(b, 3);
        List<BackendDomain> cycle = switchCycle(b, ds);
        long x = iova(ds.get(0), 0);
        for (int i = 0; i < 2 * cycle.size(); i++) {
            BackendDomain to = cycle.get(i % cycle.size());
            b.attachDev(dev(0), to);
            assertReaches(read(b, dev(0), 0, x), to, x, ds.contains(to) ? paIn(ds, to) : -1,
                    "switch " + i + " to " + to);
        }
    }

    @Test
    @DisplayName("rule 44, D18, seed 001: during a switch DMA reaches the old or the new "
            + "domain, never a third, and other devices' DMA stays where it is")
    public void duringASwitchOldOrNew() throws InterruptedException {
        probeSwitches((b, from, to) -> b.attachDev(dev(0), to));
    }

    /** One switch of device 0, by attach or by replace. */
    private interface Switch {
        void run(IommuBackend b, BackendDomain from, BackendDomain to);
    }

    /** Switches device 0 round the cycle while a prober checks each DMA (rule 44, D18). */
    private void probeSwitches(Switch sw) throws InterruptedException {
        IommuBackend b = backend();
        List<BackendDomain> ds = mappedDomains(b, 4);
        BackendDomain others = ds.remove(3);
        List<BackendDomain> cycle = switchCycle(b, ds);
        long x = iova(ds.get(0), 0);
        long othersPa = pa(others, 13);
        b.attachDev(dev(1), others);
        b.attachDev(dev(0), cycle.get(0));
        // epoch 2k: settled on one domain; epoch 2k+1: switching, old and new allowed
        Map<Long, List<BackendDomain>> allowed = new ConcurrentHashMap<>();
        AtomicLong epoch = new AtomicLong();
        allowed.put(0L, List.of(cycle.get(0)));
        AtomicBoolean stop = new AtomicBoolean();
        Queue<String> violations = new ConcurrentLinkedQueue<>();
        AtomicLong probes = new AtomicLong();
        Thread prober = new Thread(() -> {
            while (!stop.get() && violations.size() < 10) {
                long e1 = epoch.get();
                Walk w;
                Walk other;
                try {
                    w = read(b, dev(0), 0, x);
                    other = read(b, dev(1), 0, x);
                } catch (Throwable t) {
                    violations.add("probe threw " + t);
                    return;
                }
                long e2 = epoch.get();
                List<BackendDomain> may = new ArrayList<>();
                for (long e = e1; e <= e2; e++) {
                    may.addAll(allowed.get(e));
                }
                String bad = judge(w, may, ds, x);
                if (bad != null) {
                    violations.add("epochs " + e1 + "-" + e2 + ": " + bad);
                }
                if (other.outcome() != Translation.Outcome.TRANSLATED || other.domain() != others
                        || other.physAddr() != othersPa) {
                    violations.add("the other device's DMA moved: " + other);
                }
                probes.incrementAndGet();
            }
        }, "switch-prober");
        prober.setDaemon(true);
        prober.start();
        BackendDomain cur = cycle.get(0);
        try {
            for (int i = 1; i <= 50 * cycle.size() && violations.isEmpty(); i++) {
                BackendDomain next = cycle.get(i % cycle.size());
                allowed.put(2L * i - 1, List.of(cur, next));
                epoch.set(2L * i - 1);
                sw.run(b, cur, next);
                allowed.put(2L * i, List.of(next));
                epoch.set(2L * i);
                cur = next;
                // the prober gets a few probes in on each settled domain
                long seen = probes.get();
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
                while (probes.get() < seen + 2 && System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
            }
        } finally {
            stop.set(true);
            prober.join(10_000);
        }
        assertTrue(violations.isEmpty(), "DMA reached a domain that was neither the old nor the "
                + "new one (" + probes.get() + " probes): " + violations);
        assertTrue(probes.get() > 0, "no probe ran");
    }

    /** Why a walk is not one of the domains it may reach, or null when it is. */
    private static String judge(Walk w, List<BackendDomain> may, List<BackendDomain> paging,
            long x) {
        BackendDomain by = w.domain();
        boolean known = by == null || may.contains(by);
        switch (w.outcome()) {
            case TRANSLATED:
                if (by == null || !may.contains(by)) {
                    return w + " by " + by + ", allowed " + may;
                }
                long want = by.type() == DomainType.IDENTITY ? x : paIn(paging, by);
                return w.physAddr() == want ? null : w + " by " + by + ", which maps "
                        + hex(want);
            case BYPASS:
                for (BackendDomain d : may) {
                    if (d.type() == DomainType.IDENTITY) {
                        return known ? null : w + " named " + by + ", allowed " + may;
                    }
                }
                return w + " (bypass) while allowed only " + may;
            default:
                // dropped DMA is allowed during a switch; naming another domain is not
                return known ? null : w + " named " + by + ", allowed " + may;
        }
    }

    @Test
    @DisplayName("rule 44: a backend without default domains detaches a device to no domain, "
            + "where its DMA reaches none")
    public void detachWithoutDefaultDomains() {
        IommuBackend b = backend();
        assumeFalse(caps(b).defaultDomains(), "the backend uses default domains");
        List<BackendDomain> ds = mappedDomains(b, 1);
        b.attachDev(dev(0), ds.get(0));
        b.detachDev(dev(0));
        assertNotTranslated(read(b, dev(0), 0, iova(ds.get(0), 0)), "DMA of a detached device");
    }

    // ------------------------------------------------------------------ replace

    @Test
    @DisplayName("rules 105, D25: replaceDev moves a device round paging, blocking and identity "
            + "domains; after each replace DMA reaches the new domain, with its mappings")
    public void replaceSettlesOnTheNewDomain() {
        IommuBackend b = backend();
        List<BackendDomain> ds = mappedDomains(b, 3);
        List<BackendDomain> cycle = switchCycle(b, ds);
        long x = iova(ds.get(0), 0);
        b.attachDev(dev(0), cycle.get(0));
        BackendDomain cur = cycle.get(0);
        for (int i = 1; i <= 2 * cycle.size(); i++) {
            BackendDomain to = cycle.get(i % cycle.size());
            b.replaceDev(dev(0), cur, to);
            assertReaches(read(b, dev(0), 0, x), to, x, ds.contains(to) ? paIn(ds, to) : -1,
                    "replace " + i + " to " + to);
            cur = to;
        }
    }

    @Test
    @DisplayName("rule 44, D18, D25: during a replace DMA reaches the old or the new domain, "
            + "never a third, and other devices' DMA stays where it is")
    public void duringAReplaceOldOrNew() throws InterruptedException {
        probeSwitches((b, from, to) -> b.replaceDev(dev(0), from, to));
    }

    @Test
    @DisplayName("rules 44, 105: replacing a device's domain with the one it is on succeeds and "
            + "changes nothing")
    public void replaceWithTheCurrentDomainIsANoOp() {
        IommuBackend b = backend();
        List<BackendDomain> ds = mappedDomains(b, 2);
        BackendDomain d = ds.get(0);
        long x = iova(d, 0);
        b.attachDev(dev(0), d);
        b.attachDev(dev(1), ds.get(1));
        b.replaceDev(dev(0), d, d);
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, d), d, "replaced with its own domain");
        assertTranslated(read(b, dev(1), 0, x), paIn(ds, ds.get(1)), ds.get(1), "other device");
        b.replaceDev(dev(0), d, ds.get(1));
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, ds.get(1)), ds.get(1),
                "a real replace after the no-op");
    }

    @Test
    @DisplayName("rules 105, 106, D18: a replace the backend refuses (a domain of another "
            + "instance) leaves the device, and its PASID, on the old domain")
    public void failedReplaceLeavesTheOld() {
        IommuBackend b = backend();
        List<BackendDomain> ds = mappedDomains(b, 2);
        BackendDomain d = ds.get(0);
        long x = iova(d, 0);
        b.attachDev(dev(0), d);
        IommuBackend other = backend();
        BackendDomain foreign = paging(other);
        map(foreign, x, pa(foreign, 30), 1);
        refused("replaceDev to a domain of another instance",
                () -> b.replaceDev(dev(0), d, foreign));
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, d), d, "after the refused replace");
        b.replaceDev(dev(0), d, ds.get(1));
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, ds.get(1)), ds.get(1),
                "a replace after the refused one");
        if (caps(b).maxPasids() > 0) {
            b.setDevPasid(dev(0), 3, d);
            refused("replaceDevPasid to a domain of another instance",
                    () -> b.replaceDevPasid(dev(0), 3, d, foreign));
            assertTranslated(read(b, dev(0), 3, x), paIn(ds, d), d, "PASID 3 after the refusal");
            b.removeDevPasid(dev(0), 3, d);
        }
    }

    @Test
    @DisplayName("rule 106, D25: replaceDevPasid moves a PASID to another domain and back; DMA "
            + "without PASID and other PASIDs stay; its own domain is a no-op; remove works after")
    public void pasidReplace() {
        IommuBackend b = backend();
        assumePasids(b);
        List<BackendDomain> ds = mappedDomains(b, 4);
        long x = iova(ds.get(0), 0);
        b.attachDev(dev(0), ds.get(0));
        b.setDevPasid(dev(0), 5, ds.get(1));
        b.setDevPasid(dev(0), 6, ds.get(3));
        b.replaceDevPasid(dev(0), 5, ds.get(1), ds.get(2));
        assertTranslated(read(b, dev(0), 5, x), paIn(ds, ds.get(2)), ds.get(2), "PASID 5");
        assertTranslated(read(b, dev(0), 6, x), paIn(ds, ds.get(3)), ds.get(3), "PASID 6");
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, ds.get(0)), ds.get(0), "no PASID");
        b.replaceDevPasid(dev(0), 5, ds.get(2), ds.get(2));
        assertTranslated(read(b, dev(0), 5, x), paIn(ds, ds.get(2)), ds.get(2), "no-op");
        b.replaceDevPasid(dev(0), 5, ds.get(2), ds.get(1));
        assertTranslated(read(b, dev(0), 5, x), paIn(ds, ds.get(1)), ds.get(1), "back");
        b.removeDevPasid(dev(0), 5, ds.get(1));
        assertNotTranslated(read(b, dev(0), 5, x), "PASID 5 removed");
        b.removeDevPasid(dev(0), 6, ds.get(3));
    }

    // ------------------------------------------------------------------ PASIDs

    @Test
    @DisplayName("rules 33, 38: PASID 0 is DMA without PASID: setDevPasid refuses it and DMA "
            + "without PASID stays on its domain")
    public void pasidZeroIsRefused() {
        IommuBackend b = backend();
        List<BackendDomain> ds = mappedDomains(b, 2);
        BackendDomain rid = ds.get(0);
        long x = iova(rid, 0);
        b.attachDev(dev(0), rid);
        refused("setDevPasid(" + dev(0) + ", 0)", () -> b.setDevPasid(dev(0), 0, ds.get(1)));
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, rid), rid, "DMA without PASID");
    }

    @Test
    @DisplayName("rules 34, 38, 95: PASIDs 1 to the device's limit minus one attach; the limit "
            + "and beyond are refused")
    public void pasidLimitsOfTheDevice() {
        IommuBackend b = backend();
        assumePasids(b);
        DeviceInfo narrow = standardDevices().get(1);
        int limit = pasidLimit(b, narrow);
        assumeTrue(limit > 1, "the narrow device gets no PASID but 0");
        List<BackendDomain> ds = mappedDomains(b, 4);
        long x = iova(ds.get(0), 0);
        b.attachDev(narrow.name(), ds.get(0));
        b.setDevPasid(narrow.name(), 1, ds.get(1));
        assertTranslated(read(b, narrow.name(), 1, x), paIn(ds, ds.get(1)), ds.get(1), "PASID 1");
        if (limit - 1 > 1) {
            b.setDevPasid(narrow.name(), limit - 1, ds.get(2));
            assertTranslated(read(b, narrow.name(), limit - 1, x), paIn(ds, ds.get(2)), ds.get(2),
                    "PASID " + (limit - 1) + ", the device's last");
        }
        refused("setDevPasid at PASID " + limit + ", the limit of " + narrow,
                () -> b.setDevPasid(narrow.name(), limit, ds.get(3)));
        assertNotTranslated(read(b, narrow.name(), limit, x), "DMA with PASID " + limit);
        int max = caps(b).maxPasids();
        if (max < 1 << 20) {
            refused("setDevPasid at PASID " + max + ", the IOMMU's limit",
                    () -> b.setDevPasid(dev(0), max, ds.get(3)));
        }
        b.removeDevPasid(narrow.name(), 1, ds.get(1));
        if (limit - 1 > 1) {
            b.removeDevPasid(narrow.name(), limit - 1, ds.get(2));
        }
    }

    @Test
    @DisplayName("rule 34: a device without PASID capability takes no PASID; its DMA without "
            + "PASID is unchanged")
    public void deviceWithoutPasids() {
        IommuBackend b = backend();
        List<BackendDomain> ds = mappedDomains(b, 2);
        long x = iova(ds.get(0), 0);
        b.attachDev(dev(2), ds.get(0));
        refused("setDevPasid on " + standardDevices().get(2),
                () -> b.setDevPasid(dev(2), 1, ds.get(1)));
        assertNotTranslated(read(b, dev(2), 1, x), "DMA with PASID 1");
        assertTranslated(read(b, dev(2), 0, x), paIn(ds, ds.get(0)), ds.get(0),
                "DMA without PASID");
    }

    @Test
    @DisplayName("rules 38, 95: a PASID set to one domain is EBUSY for another, and keeps its "
            + "domain")
    public void presentPasidIsBusy() {
        IommuBackend b = backend();
        assumePasids(b);
        List<BackendDomain> ds = mappedDomains(b, 3);
        long x = iova(ds.get(0), 0);
        b.attachDev(dev(0), ds.get(0));
        b.setDevPasid(dev(0), 5, ds.get(1));
        refusedWith(EnumSet.of(Errno.EBUSY), "setDevPasid over a present PASID",
                () -> b.setDevPasid(dev(0), 5, ds.get(2)));
        assertTranslated(read(b, dev(0), 5, x), paIn(ds, ds.get(1)), ds.get(1), "PASID 5");
        b.removeDevPasid(dev(0), 5, ds.get(1));
    }

    @Test
    @DisplayName("rule 38: a PASID attachment leaves DMA without PASID and the other PASIDs "
            + "alone")
    public void pasidsAreIsolated() {
        IommuBackend b = backend();
        assumePasids(b);
        List<BackendDomain> ds = mappedDomains(b, 2);
        BackendDomain rid = ds.get(0);
        BackendDomain at3 = ds.get(1);
        long x = iova(rid, 0);
        b.attachDev(dev(0), rid);
        b.setDevPasid(dev(0), 3, at3);
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, rid), rid, "DMA without PASID");
        assertTranslated(read(b, dev(0), 3, x), paIn(ds, at3), at3, "PASID 3");
        assertNotTranslated(read(b, dev(0), 4, x), "PASID 4, never set");
        assertNotTranslated(read(b, dev(1), 3, x), "PASID 3 of another device");
        b.removeDevPasid(dev(0), 3, at3);
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, rid), rid, "DMA without PASID after");
    }

    @Test
    @DisplayName("rules 39, 96: removeDevPasid clears the entry and what the hardware cached of "
            + "it: the PASID's DMA faults at once")
    public void removedPasidFaultsAtOnce() {
        IommuBackend b = backend();
        assumePasids(b);
        List<BackendDomain> ds = mappedDomains(b, 2);
        long x = iova(ds.get(0), 0);
        b.attachDev(dev(0), ds.get(0));
        b.setDevPasid(dev(0), 7, ds.get(1));
        assertTranslated(read(b, dev(0), 7, x), paIn(ds, ds.get(1)), ds.get(1), "PASID 7, cached");
        assertTranslated(read(b, dev(0), 7, x), paIn(ds, ds.get(1)), ds.get(1), "PASID 7 again");
        b.removeDevPasid(dev(0), 7, ds.get(1));
        assertFault(read(b, dev(0), 7, x), "PASID 7 after its removal");
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, ds.get(0)), ds.get(0),
                "DMA without PASID");
    }

    @Test
    @DisplayName("rule 96, D17: a PASID is removed, then its domain freed; a new domain at the "
            + "same PASID, or on the same device, translates afresh")
    public void teardownOrder() {
        IommuBackend b = backend();
        List<BackendDomain> ds = mappedDomains(b, 1);
        BackendDomain rid = ds.get(0);
        long x = iova(rid, 0);
        b.attachDev(dev(0), rid);
        b.attachDev(dev(1), rid);
        for (int round = 0; round < 3; round++) {
            BackendDomain d = paging(b);
            map(d, x, pa(d, 100 + round), 1);
            b.attachDev(dev(1), d);
            assertTranslated(read(b, dev(1), 0, x), pa(d, 100 + round), d, "round " + round);
            b.attachDev(dev(1), rid);
            d.free();
            if (caps(b).maxPasids() > 9) {
                BackendDomain e = paging(b);
                map(e, x, pa(e, 200 + round), 1);
                b.setDevPasid(dev(0), 9, e);
                assertTranslated(read(b, dev(0), 9, x), pa(e, 200 + round), e,
                        "PASID 9, round " + round);
                b.removeDevPasid(dev(0), 9, e);
                assertFault(read(b, dev(0), 9, x), "PASID 9 removed, round " + round);
                e.free();
            }
        }
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, rid), rid, "DMA without PASID");
    }

    // ------------------------------------------------------------------ departure

    /**
     * A backend with a domain attached and mapped, and a second one at PASID 1 when it has
     * PASIDs; returns both.
     */
    private List<BackendDomain> busy(IommuBackend b) {
        List<BackendDomain> ds = mappedDomains(b, 2);
        b.attachDev(dev(0), ds.get(0));
        if (caps(b).maxPasids() > 1) {
            b.setDevPasid(dev(0), 1, ds.get(1));
        }
        assertTranslated(read(b, dev(0), 0, iova(ds.get(0), 0)), paIn(ds, ds.get(0)), ds.get(0),
                "before the backend leaves");
        return ds;
    }

    @Test
    @DisplayName("D17: a backend leaves with domains attached, PASIDs set and mappings live; a "
            + "later instance for the same devices starts clean")
    public void leaveAndReturn() {
        IommuBackend b = backend();
        busy(b);
        left(b);
        IommuBackend again = backend();
        assertEquals(names(standardDevices()), names(again.devices()), "devices of the new one");
        BackendDomain d = paging(again);
        long x = iova(d, 0);
        assertNotTranslated(read(again, dev(0), 0, x), "DMA before anything is attached");
        if (caps(again).maxPasids() > 1) {
            assertNotTranslated(read(again, dev(0), 1, x), "PASID 1 before it is set");
        }
        map(d, x, pa(d, 77), 1);
        again.attachDev(dev(0), d);
        assertTranslated(read(again, dev(0), 0, x), pa(d, 77), d, "the new instance's domain");
    }

    @Test
    @DisplayName("D17: once its backend left, every configuration call and translation probe "
            + "is ENODEV (EOPNOTSUPP where the hardware never could)")
    public void afterLeavingEveryCallIsEnodev() {
        IommuBackend b = backend();
        IommuCaps c = caps(b);
        List<BackendDomain> ds = busy(b);
        BackendDomain d = ds.get(0);
        BackendDomain atPasid = ds.get(1);
        DomainType t = pagingType(c);
        left(b);
        Set<Errno> enodev = EnumSet.of(Errno.ENODEV);
        Set<Errno> orUnsupported = EnumSet.of(Errno.ENODEV, Errno.EOPNOTSUPP);
        refusedWith(enodev, "domainAlloc after leaving", () -> b.domainAlloc(t, false));
        refusedWith(enodev, "attachDev after leaving", () -> b.attachDev(dev(0), d));
        refusedWith(enodev, "translate after leaving",
                () -> b.translate(dev(0), 0, iova(d, 0), Access.READ));
        Set<Errno> pasidAnswer = c.maxPasids() > 0 ? enodev : orUnsupported;
        refusedWith(pasidAnswer, "setDevPasid after leaving", () -> b.setDevPasid(dev(0), 2, d));
        refusedWith(pasidAnswer, "removeDevPasid after leaving",
                () -> b.removeDevPasid(dev(0), 1, atPasid));
        refusedWith(c.defaultDomains() ? orUnsupported : enodev, "detachDev after leaving",
                () -> b.detachDev(dev(0)));
        refusedWith(c.nesting() ? enodev : orUnsupported, "viommuAlloc after leaving",
                () -> b.viommuAlloc(d));
        refusedWith(orUnsupported, "svaDomainAlloc after leaving",
                () -> b.svaDomainAlloc(new PlainProcess()));
    }

    /** A process whose page table maps nothing. */
    private static final class PlainProcess implements ProcessAddressSpace {
        @Override
        public long translate(long va, Access access) {
            return -1;
        }

        @Override
        public int asid() {
            return 1;
        }
    }

    // ------------------------------------------------------------------ configuration

    private static List<String> names(List<DeviceInfo> devices) {
        List<String> out = new ArrayList<>();
        for (DeviceInfo d : devices) {
            out.add(d.name());
        }
        Collections.sort(out);
        return out;
    }

    @Test
    @DisplayName("D2: a refused configuration gives an instance whose failure() says why; a "
            + "valid one mends it and it serves")
    public void refusedConfiguration() {
        DeviceInfo a = standardDevices().get(0);
        DeviceInfo b0 = standardDevices().get(1);
        IommuBackend b = createBackend(List.of(a, a));
        assertNotNull(b, "createBackend returned null for a refused configuration");
        live.add(b);
        String why = b.failure();
        assertTrue(why != null && !why.isBlank(), "a device listed twice was not refused: "
                + "failure() is " + why);
        reconfigure(b, List.of(a, b0));
        assertNull(b.failure(), "still refused after a valid configuration");
        assertNull(b.refusedChange(), "refusedChange() of a mended instance");
        assertEquals(names(List.of(a, b0)), names(b.devices()), "devices of the mended instance");
        BackendDomain d = paging(b);
        map(d, iova(d, 0), pa(d, 0), 1);
        b.attachDev(a.name(), d);
        assertTranslated(read(b, a.name(), 0, iova(d, 0)), pa(d, 0), d, "the mended instance");
    }

    @Test
    @DisplayName("D2: a refused change keeps the running configuration; refusedChange() says "
            + "why until a change is accepted")
    public void refusedChange() {
        List<DeviceInfo> std = standardDevices();
        IommuBackend b = backend(std.subList(0, 2));
        List<BackendDomain> ds = mappedDomains(b, 1);
        BackendDomain d = ds.get(0);
        long x = iova(d, 0);
        b.attachDev(dev(0), d);
        assertNull(b.refusedChange(), "refusedChange() before any change");
        reconfigure(b, List.of(std.get(0), std.get(1), std.get(1)));
        String why = b.refusedChange();
        assertTrue(why != null && !why.isBlank(), "a device listed twice was not refused: "
                + "refusedChange() is " + why);
        assertNull(b.failure(), "a refused change made the running instance FAILED");
        assertEquals(names(std.subList(0, 2)), names(b.devices()),
                "devices after a refused change");
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, d), d, "DMA after a refused change");
        reconfigure(b, std);
        assertNull(b.refusedChange(), "refusedChange() after an accepted change");
        assertEquals(names(std), names(b.devices()), "devices after an accepted change");
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, d), d, "DMA after an accepted change");
    }

    @Test
    @DisplayName("D16: a device dropped from the configuration is released: its DMA reaches no "
            + "domain, and the domain it was on can be freed")
    public void droppedDeviceIsReleased() {
        List<DeviceInfo> std = standardDevices();
        IommuBackend b = backend(std.subList(0, 2));
        List<BackendDomain> ds = mappedDomains(b, 2);
        long x = iova(ds.get(0), 0);
        b.attachDev(dev(0), ds.get(0));
        b.attachDev(dev(1), ds.get(1));
        assertTranslated(read(b, dev(1), 0, x), paIn(ds, ds.get(1)), ds.get(1), "before");
        reconfigure(b, std.subList(0, 1));
        assertEquals(names(std.subList(0, 1)), names(b.devices()), "devices after the change");
        try {
            assertNotTranslated(b.translate(dev(1), 0, x, Access.READ), "DMA of a released device");
        } catch (ioasid.api.IoasidException expected) {
            // a device the backend no longer serves may be refused outright
        }
        ds.get(1).free();
        assertTranslated(read(b, dev(0), 0, x), paIn(ds, ds.get(0)), ds.get(0), "the kept device");
    }

    // ------------------------------------------------------------------ data path

    @Test
    @DisplayName("rules 57, 58: page-table calls and probes run from any thread, concurrently "
            + "with each other and with configuration calls")
    public void dataPathRunsConcurrently() throws InterruptedException {
        IommuBackend b = backend();
        BackendDomain shared = paging(b);
        List<BackendDomain> config = mappedDomains(b, 2);
        b.attachDev(dev(0), shared);
        b.attachDev(dev(1), config.get(0));
        long p = page(shared);
        int threads = 4;
        int rounds = 150;
        Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long base = iova(shared, 512L * t);
            long paBase = pa(shared, 512L * t);
            Thread w = new Thread(() -> {
                try {
                    for (int i = 0; i < rounds; i++) {
                        long off = (i % 64) * p;
                        map(shared, base + off, paBase + off, 1);
                        assertMapped(shared, base + off, paBase + off, "mapped concurrently");
                        assertTranslated(read(b, dev(0), 0, base + off), paBase + off, shared,
                                "DMA to a page mapped concurrently");
                        assertEquals(hex(p), hex(unmapSync(shared, base + off, p, 1)),
                                "unmapped concurrently");
                        assertUnmapped(shared, base + off, "unmapped concurrently");
                        assertFault(read(b, dev(0), 0, base + off),
                                "DMA to a page unmapped concurrently");
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }, "data-path-" + t);
            workers.add(w);
            w.start();
        }
        boolean pasids = caps(b).maxPasids() > 2;
        BackendDomain on = config.get(0);
        try {
            for (int i = 0; workers.stream().anyMatch(Thread::isAlive) && errors.isEmpty(); i++) {
                on = config.get(i % 2);
                BackendDomain other = config.get((i + 1) % 2);
                b.attachDev(dev(1), on);
                if (pasids) {
                    b.setDevPasid(dev(1), 2, other);
                    b.removeDevPasid(dev(1), 2, other);
                }
                paging(b).free();
            }
        } finally {
            for (Thread w : workers) {
                w.join(30_000);
            }
        }
        if (!errors.isEmpty()) {
            throw new AssertionError(errors.size() + " data-path call(s) failed while others "
                    + "ran; the first: " + errors.peek(), errors.peek());
        }
        for (Thread w : workers) {
            assertFalse(w.isAlive(), w.getName() + " did not finish");
        }
        assertTranslated(read(b, dev(1), 0, iova(on, 0)), paIn(config, on), on,
                "the device switched meanwhile");
    }
}
