package ioasid.core.iommu;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.BackendVdevice;
import ioasid.api.iommu.spi.BackendViommu;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;

/**
 * A plain IOMMU for the core's tests: per-device and per-PASID domain pointers, a page map per
 * domain, and hooks to make chosen calls fail. The vendor backends model real hardware; this one
 * models only what the core's rules need, and records every call.
 */
class TestBackend implements IommuBackend {
    final String name;
    IommuCaps caps;
    final List<DeviceInfo> devices = new ArrayList<>();
    final Map<String, Dom> attached = new HashMap<>();
    final Map<String, Dom> pasids = new HashMap<>();
    final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    final List<Dom> allocated = new ArrayList<>();
    private final AtomicInteger ids = new AtomicInteger();
    /** Devices whose attach fails. */
    final Set<String> failAttach = new java.util.HashSet<>();
    /** Devices whose PASID set fails. */
    final Set<String> failPasid = new java.util.HashSet<>();
    /** PASIDs whose replace fails with ENOMEM, as the mock driver's PASID 1024 does. */
    final Set<Integer> failPasidReplace = new java.util.HashSet<>();
    /** Devices whose replace (not attach) fails with ENOMEM. */
    final Set<String> failReplace = new java.util.HashSet<>();
    /** Every replaceDev and replaceDevPasid, as "dev old>new" and "dev:pasid old>new". */
    final List<String> replaces = Collections.synchronizedList(new ArrayList<>());
    /** Domain types whose allocation fails with EOPNOTSUPP. */
    final Set<DomainType> refuse = EnumSet.noneOf(DomainType.class);
    /** Called inside attachDev, after the device switched: probes mid-switch (D18). */
    BiConsumer<String, Dom> duringAttach;
    boolean viommuSupported = true;
    boolean failVdevice;
    /** Set by a test once the core let the backend go: any call after that is a violation. */
    volatile boolean departed;
    /** What failure() and refusedChange() answer. */
    volatile String failure;
    volatile String refused;
    final List<String> violations = Collections.synchronizedList(new ArrayList<>());

    private void checkPresent(String what) {
        if (departed) {
            violations.add(what + " after the backend left");
        }
    }

    TestBackend(String name, int maxPasids) {
        this.name = name;
        this.caps = IommuCaps.builder("test").maxPasids(maxPasids)
                .pgsizeBitmap((1L << 12) | (1L << 21)).addressBits(48, 48).nesting(true).build();
    }

    TestBackend device(String dev, String group, int pasidBits) {
        devices.add(new DeviceInfo(dev, group, devices.size(), pasidBits));
        return this;
    }

    final class Dom implements BackendDomain {
        final int id = ids.incrementAndGet();
        final DomainType type;
        final boolean nestingParent;
        final ProcessAddressSpace mm;
        /** page (4K) -> {phys of page, prot} */
        final TreeMap<Long, long[]> pages = new TreeMap<>();
        boolean freed;

        Dom(DomainType type, boolean nestingParent, ProcessAddressSpace mm) {
            this.type = type;
            this.nestingParent = nestingParent;
            this.mm = mm;
        }

        @Override
        public DomainType type() {
            return type;
        }

        @Override
        public long pgsizeBitmap() {
            return caps.pgsizeBitmap();
        }

        @Override
        public long apertureEnd() {
            return caps.iasBits() == 64 ? -1L : (1L << caps.iasBits()) - 1;
        }

        @Override
        public synchronized void mapPages(long iova, long paddr, long pgsize, long count, int prot) {
            long until = System.nanoTime() + 20_000; // a slow page-table walk widens race windows
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            checkPresent("map");
            calls.add("map " + id + " 0x" + Long.toHexString(iova) + " pgsize 0x"
                    + Long.toHexString(pgsize) + " x" + count);
            long n = pgsize / 4096 * count;
            for (long i = 0; i < n; i++) {
                if (pages.containsKey(iova + i * 4096)) {
                    for (long j = 0; j < i; j++) {
                        pages.remove(iova + j * 4096);
                    }
                    throw new IoasidException(Errno.EEXIST, "0x" + Long.toHexString(iova + i * 4096)
                            + " is mapped");
                }
                pages.put(iova + i * 4096, new long[] {paddr + i * 4096, prot});
            }
        }

        @Override
        public synchronized long unmapPages(long iova, long pgsize, long count, IotlbGather gather) {
            checkPresent("unmap");
            long n = pgsize / 4096 * count;
            long done = 0;
            for (long i = 0; i < n && pages.remove(iova + i * 4096) != null; i++) {
                done += 4096;
            }
            gather.add(iova, done, 4096);
            return done;
        }

        @Override
        public synchronized long iovaToPhys(long iova) {
            long[] e = pages.get(iova & ~4095L);
            return e == null ? 0 : e[0] + (iova & 4095);
        }

        @Override
        public void iotlbSync(IotlbGather gather) {
            calls.add("sync " + id + " " + gather);
        }

        @Override
        public void flushIotlbAll() {
            calls.add("flush " + id);
        }

        @Override
        public void free() {
            calls.add("free " + id);
            freed = true;
        }

        Walk walk(long iova, Access access) {
            if (freed) {
                throw new AssertionError("DMA reached freed domain " + id + " (known bug 1)");
            }
            switch (type) {
                case IDENTITY:
                    return Walk.bypass(this);
                case BLOCKED:
                    return Walk.fault("BLOCKED", this);
                case SVA: {
                    long pa = mm.translate(iova, access);
                    return pa < 0 ? Walk.fault("SVA_FAULT", this) : Walk.translated(pa, this);
                }
                default: {
                    long[] e;
                    synchronized (this) {
                        e = pages.get(iova & ~4095L);
                    }
                    if (e == null) {
                        return Walk.fault("NOT_MAPPED", this);
                    }
                    if (access == Access.WRITE && (e[1] & Prot.WRITE) == 0) {
                        return Walk.fault("READ_ONLY", this);
                    }
                    return Walk.translated(e[0] + (iova & 4095), this);
                }
            }
        }

        @Override
        public String toString() {
            return "test domain " + id + " " + type;
        }
    }

    @Override
    public IommuCaps caps() {
        if (failure != null) {
            violations.add("caps() of a failed backend");
        }
        return caps;
    }

    @Override
    public String failure() {
        return failure;
    }

    @Override
    public String refusedChange() {
        return refused;
    }

    @Override
    public List<DeviceInfo> devices() {
        if (failure != null) {
            violations.add("devices() of a failed backend");
        }
        return List.copyOf(devices);
    }

    @Override
    public BackendDomain domainAlloc(DomainType type, boolean nestingParent) {
        if (refuse.contains(type)) {
            throw new IoasidException(Errno.EOPNOTSUPP, name + " refuses " + type);
        }
        Dom d = new Dom(type, nestingParent, null);
        allocated.add(d);
        calls.add("alloc " + d.id + " " + type);
        return d;
    }

    @Override
    public BackendDomain svaDomainAlloc(ProcessAddressSpace mm) {
        if (refuse.contains(DomainType.SVA)) {
            throw new IoasidException(Errno.EOPNOTSUPP, name + " has no SVA");
        }
        Dom d = new Dom(DomainType.SVA, false, mm);
        allocated.add(d);
        calls.add("alloc " + d.id + " SVA");
        return d;
    }

    private Dom dom(BackendDomain d) {
        if (!(d instanceof Dom dm) || !allocated.contains(dm)) {
            throw new AssertionError("foreign domain " + d);
        }
        if (dm.freed) {
            throw new AssertionError("use of freed domain " + dm.id);
        }
        return dm;
    }

    @Override
    public synchronized void attachDev(String device, BackendDomain domain) {
        Dom d = dom(domain);
        if (failAttach.contains(device) && attached.get(device) != d) {
            throw new IoasidException(Errno.ENOMEM, "attach of " + device + " fails");
        }
        attached.put(device, d);
        calls.add("attach " + device + " " + d.id);
        if (duringAttach != null) {
            duringAttach.accept(device, d);
        }
    }

    /** Checks the core names the domain installed now, then attaches as attachDev does. */
    @Override
    public synchronized void replaceDev(String device, BackendDomain old, BackendDomain domain) {
        Dom o = dom(old);
        Dom d = dom(domain);
        if (attached.get(device) != o || o == d) {
            violations.add("replaceDev(" + device + ", " + o + ", " + d + ") but " + device
                    + " is on " + attached.get(device));
        }
        if (failReplace.contains(device)) {
            throw new IoasidException(Errno.ENOMEM, "replace of " + device + " fails");
        }
        replaces.add(device + " " + o.id + ">" + d.id);
        attachDev(device, domain);
    }

    /** The PASID's entry is rewritten in place: no moment without a domain. */
    @Override
    public synchronized void replaceDevPasid(String device, int pasid, BackendDomain old,
            BackendDomain domain) {
        Dom o = dom(old);
        Dom d = dom(domain);
        if (pasids.get(device + ":" + pasid) != o || o == d) {
            violations.add("replaceDevPasid(" + device + ":" + pasid + ", " + o + ", " + d
                    + ") but it is on " + pasids.get(device + ":" + pasid));
        }
        if (failPasidReplace.contains(pasid) || failPasid.contains(device)) {
            throw new IoasidException(Errno.ENOMEM, "replace of PASID " + pasid + " of " + device
                    + " fails");
        }
        pasids.put(device + ":" + pasid, d);
        replaces.add(device + ":" + pasid + " " + o.id + ">" + d.id);
        calls.add("repasid " + device + ":" + pasid + " " + d.id);
    }

    @Override
    public synchronized void detachDev(String device) {
        if (caps.defaultDomains()) {
            throw new IoasidException(Errno.EOPNOTSUPP, "no NULL domain");
        }
        attached.remove(device);
        calls.add("detach " + device);
    }

    @Override
    public synchronized void setDevPasid(String device, int pasid, BackendDomain domain) {
        Dom d = dom(domain);
        if (failPasid.contains(device)) {
            throw new IoasidException(Errno.ENOMEM, "PASID table of " + device + " is full");
        }
        pasids.put(device + ":" + pasid, d);
        calls.add("pasid " + device + ":" + pasid + " " + d.id);
    }

    @Override
    public synchronized void removeDevPasid(String device, int pasid, BackendDomain domain) {
        pasids.remove(device + ":" + pasid);
        calls.add("unpasid " + device + ":" + pasid);
    }

    @Override
    public Walk translate(String device, int pasid, long iova, Access access) {
        checkPresent("translate");
        Dom d;
        synchronized (this) {
            d = pasid == Ioasid.NO_PASID ? attached.get(device) : pasids.get(device + ":" + pasid);
        }
        if (d == null) {
            return Walk.fault(pasid == 0 ? "NO_DOMAIN" : "NO_PASID_ENTRY", null);
        }
        return d.walk(iova, access);
    }

    @Override
    public BackendViommu viommuAlloc(BackendDomain nestingParent) {
        if (!viommuSupported) {
            throw new IoasidException(Errno.EOPNOTSUPP, "no vIOMMU");
        }
        dom(nestingParent);
        calls.add("viommu");
        return new BackendViommu() {
            @Override
            public BackendVdevice vdeviceInit(String device, long virtId) {
                if (failVdevice) {
                    throw new IoasidException(Errno.ENOMEM, "vdevice_init fails");
                }
                calls.add("vdev " + device + "=" + virtId);
                return () -> calls.add("vdev-destroy " + device);
            }

            @Override
            public void destroy() {
                calls.add("viommu-destroy");
            }
        };
    }

    @Override
    public List<String> commandLog() {
        synchronized (calls) {
            return List.copyOf(calls);
        }
    }

    Dom domainOf(String device) {
        return attached.get(device);
    }
}
