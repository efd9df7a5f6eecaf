package ioasid.core.iommufd;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.api.Errno.EOVERFLOW;
import static ioasid.core.iommufd.Iova.ULONG_MAX;
import static ioasid.core.iommufd.Iova.err;
import static ioasid.core.iommufd.Iova.hex;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.iommu.IommuGroup;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.Prot;
import ioasid.api.iommufd.IoasAreaDTO;
import ioasid.api.iommufd.Iommufd;
import ioasid.api.iommufd.IommufdObjectDTO;
import ioasid.api.iommufd.IovaRange;
import ioasid.api.iommufd.ObjectType;
import ioasid.core.iommufd.IoPageTable.Area;
import ioasid.core.iommufd.IoPageTable.Pages;

/*
 * One iommufd context: the object table of one open file and its calls, the kernel's main.c and
 * the ioctl entry points of ioas.c, hw_pagetable.c, device.c and viommu.c.
 *
 * Lock contract: one lock per context serializes every call on it, IommuService calls included;
 * contexts do not share state, so they run in parallel. IommuService never calls back into this
 * layer, so holding the lock across its calls cannot deadlock.
 *
 * Rules:
 *  1. Objects are looked up by ID: unknown or tombstoned is ENOENT, another type where one is
 *     wanted is ENOENT (rule 120).
 *  2. IOMMU_DESTROY: in use is EBUSY, a bound device always EBUSY (rules 120, 128).
 *  3. Closing destroys leaves first, in rounds in ID order, until the table is empty; devices
 *     count as leaves, since closing is their driver letting go (rule 120).
 *  4. Map and copy flags: unknown EOPNOTSUPP, an IOVA or length of 2^64-1 EOVERFLOW, neither
 *     READABLE nor WRITEABLE EINVAL, checked before the IOAS is looked up; iommufd maps with
 *     IOMMU_CACHE always (rule 121).
 *  5. Bind claims the device's DMA ownership for this context; a device bound twice is EBUSY;
 *     unbind detaches everything the device has attached, tombstones its vDevice and releases
 *     the ownership (rules 128, 129, D34).
 *  6. A closed context answers ENODEV.
 */
final class Context implements Iommufd {
    private static final System.Logger LOG = System.getLogger("ioasid.iommufd");
    private static final int MAP_FLAGS = MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE;
    /** The owner of user reservations, apart from any HWPT's or device's. */
    private static final Object USER = new Object();

    private final IommufdCore service;
    private final IommuService iommu;
    private final String label;
    private final ReentrantLock lock = new ReentrantLock();
    private final ObjectTable table = new ObjectTable();
    private final Hwpts hwpts;
    private final Attachments attachments;
    private final Viommus viommus;
    private boolean closed;

    Context(IommufdCore service, IommuService iommu, String label) {
        this.service = service;
        this.iommu = iommu;
        this.label = label;
        this.hwpts = new Hwpts(iommu, table);
        this.attachments = new Attachments(iommu, table, hwpts);
        this.viommus = new Viommus(iommu, table);
    }

    @Override
    public String label() {
        return label;
    }

    /** What the IOMMU core shows as the owner of the devices bound here. */
    @Override
    public String toString() {
        return "iommufd " + label;
    }

    /** Rule 6: runs {@code call} under the lock on an open context. */
    private <T> T locked(Supplier<T> call) {
        lock.lock();
        try {
            if (closed) {
                throw err(ENODEV, this + " is closed");
            }
            return call.get();
        } finally {
            lock.unlock();
        }
    }

    private void run(Runnable call) {
        locked(() -> {
            call.run();
            return null;
        });
    }

    private Ioas ioas(int id) {
        return table.get(id, ObjectType.IOAS, Ioas.class);
    }

    private Device device(int id) {
        return table.get(id, ObjectType.DEVICE, Device.class);
    }

    // ---- the object table

    /** Rule 3. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            while (!table.isEmpty()) {
                int destroyed = 0;
                for (IommufdObject o : table.all()) {
                    if (table.contains(o) && (o instanceof Device || o.users() == 0)) {
                        destroyObject(o);
                        destroyed++;
                    }
                }
                if (destroyed == 0) {
                    LOG.log(System.Logger.Level.ERROR, this + " cannot make progress closing "
                            + table.all() + ": a users count is wrong");
                    break;
                }
            }
            table.clearTombstones();
            closed = true;
        } finally {
            lock.unlock();
        }
        service.closed(this);
    }

    /** Rule 2. */
    @Override
    public void destroy(int id) {
        run(() -> {
            IommufdObject o = table.get(id);
            if (o instanceof Device) {
                throw err(EBUSY, o + " is bound: unbind it");
            }
            if (o.users() > 0) {
                throw err(EBUSY, o + " is in use by " + o.users() + " objects");
            }
            destroyObject(o);
        });
    }

    private void destroyObject(IommufdObject o) {
        if (o instanceof Device d) {
            unbind(d);
        } else if (o instanceof Hwpt h) {
            hwpts.destroy(h);
        } else if (o instanceof Viommu v) {
            viommus.destroy(v);
        } else if (o instanceof Vdev v) {
            viommus.destroyVdevice(v, false);
        } else {
            table.remove(o); // an IOAS without HWPTs holds nothing outside itself
        }
    }

    @Override
    public IommufdObjectDTO[] objects() {
        return locked(() -> table.all().stream().map(IommufdObject::dto)
                .toArray(IommufdObjectDTO[]::new));
    }

    // ---- IOAS

    @Override
    public int ioasAlloc() {
        return locked(() -> table.insert(new Ioas(iommu)).id());
    }

    /** Rule 4: the IOMMU protection a map or copy asks for. */
    private static int prot(int flags, long iova, long length) {
        if ((flags & ~MAP_FLAGS) != 0) {
            throw err(EOPNOTSUPP, "unknown map flags 0x" + Integer.toHexString(flags));
        }
        if (iova == ULONG_MAX || length == ULONG_MAX) {
            throw err(EOVERFLOW, "IOVA " + hex(iova) + " or length " + hex(length)
                    + " is 2^64-1");
        }
        if ((flags & (MAP_READABLE | MAP_WRITEABLE)) == 0) {
            throw err(EINVAL, "a map is readable, writeable or both");
        }
        return Prot.CACHE | ((flags & MAP_READABLE) != 0 ? Prot.READ : 0)
                | ((flags & MAP_WRITEABLE) != 0 ? Prot.WRITE : 0);
    }

    @Override
    public long ioasMap(int ioasId, long iova, long paddr, long length, int flags) {
        return locked(() -> {
            int prot = prot(flags, iova, length);
            return ioas(ioasId).map((flags & MAP_FIXED_IOVA) != 0, iova, paddr, length, prot);
        });
    }

    @Override
    public long ioasCopy(int dstIoasId, long dstIova, int srcIoasId, long srcIova, long length,
            int flags) {
        return locked(() -> {
            int prot = prot(flags, dstIova, length);
            if (srcIova == ULONG_MAX) {
                throw err(EOVERFLOW, "source IOVA 2^64-1");
            }
            Ioas src = ioas(srcIoasId);
            if (length == 0) {
                throw err(EINVAL, "a copy of 0 bytes");
            }
            List<Pages> pages = src.table.pages(srcIova, Iova.last(srcIova, length));
            return ioas(dstIoasId).copy(pages, (flags & MAP_FIXED_IOVA) != 0, dstIova, length,
                    prot);
        });
    }

    @Override
    public long ioasUnmap(int ioasId, long iova, long length) {
        return locked(() -> ioas(ioasId).unmap(iova, length));
    }

    @Override
    public IovaRange[] ioasIovaRanges(int ioasId) {
        return locked(() -> ioas(ioasId).table.ranges().toArray(IovaRange[]::new));
    }

    @Override
    public long ioasIovaAlignment(int ioasId) {
        return locked(() -> ioas(ioasId).table.alignment());
    }

    @Override
    public void ioasAllowIovas(int ioasId, IovaRange... allowed) {
        run(() -> ioas(ioasId).table.allow(Arrays.asList(allowed)));
    }

    @Override
    public void ioasReserveIova(int ioasId, long start, long length) {
        run(() -> {
            Ioas ioas = ioas(ioasId);
            if (length == 0) {
                throw err(EINVAL, "a reservation of 0 bytes");
            }
            ioas.table.reserve(start, Iova.last(start, length), USER);
        });
    }

    @Override
    public IoasAreaDTO[] ioasAreas(int ioasId) {
        return locked(() -> ioas(ioasId).table.areas().stream().map(Context::area)
                .toArray(IoasAreaDTO[]::new));
    }

    private static IoasAreaDTO area(Area a) {
        IoasAreaDTO d = new IoasAreaDTO();
        d.iova = a.iova;
        d.length = a.length;
        d.paddr = a.paddr;
        d.prot = a.prot;
        return d;
    }

    // ---- HWPTs

    @Override
    public int hwptAlloc(int deviceId, int ptId, int flags) {
        return locked(() -> {
            if ((flags & ~(HWPT_ALLOC_NEST_PARENT | HWPT_ALLOC_DIRTY_TRACKING)) != 0) {
                throw err(EOPNOTSUPP, "unknown HWPT flags 0x" + Integer.toHexString(flags));
            }
            Device d = device(deviceId);
            IommufdObject pt = table.get(ptId);
            if (pt instanceof Hwpt) {
                throw err(EOPNOTSUPP, "a HWPT on " + pt + " would be nested, which is not "
                        + "modelled");
            }
            if (!(pt instanceof Ioas ioas)) {
                throw err(EINVAL, pt + " is not an IOAS");
            }
            if ((flags & HWPT_ALLOC_DIRTY_TRACKING) != 0) {
                throw err(EOPNOTSUPP, "dirty tracking is not modelled");
            }
            return hwpts.create(d, ioas, (flags & HWPT_ALLOC_NEST_PARENT) != 0, false).id();
        });
    }

    // ---- devices

    /** Rule 5. */
    @Override
    public int deviceBind(String device) {
        return locked(() -> {
            for (IommufdObject o : table.all()) {
                if (o instanceof Device d && d.name.equals(device)) {
                    throw err(EBUSY, device + " is bound already as " + d);
                }
            }
            IommuGroup group = iommu.group(device);
            iommu.claimDevice(device, this);
            return table.insert(new Device(device, group)).id();
        });
    }

    @Override
    public void deviceUnbind(int deviceId) {
        run(() -> unbind(device(deviceId)));
    }

    /** Rule 5: what closing a VFIO device does to its iommufd device. */
    private void unbind(Device d) {
        for (Device.PasidAttach p : List.copyOf(d.pasids.values())) {
            attachments.detachPasid(d, p.pasid);
        }
        if (d.hwpt != null) {
            attachments.detach(d);
        }
        if (d.vdev != null) {
            viommus.destroyVdevice(d.vdev, true);
        }
        try {
            iommu.releaseDevice(d.name);
        } catch (IoasidException e) {
            // its backend left and the device with it (D33): nothing is owned any more
            LOG.log(System.Logger.Level.DEBUG, "release of " + d.name + ": " + e);
        }
        table.remove(d);
    }

    @Override
    public int deviceAttach(int deviceId, int ptId) {
        return locked(() -> attachments.attach(device(deviceId), ptId).id());
    }

    @Override
    public int deviceReplace(int deviceId, int ptId) {
        return locked(() -> attachments.replace(device(deviceId), ptId).id());
    }

    @Override
    public void deviceDetach(int deviceId) {
        run(() -> attachments.detach(device(deviceId)));
    }

    @Override
    public int devicePasidAttach(int deviceId, IoasidHandle pasid, int ptId) {
        return locked(() -> attachments.attachPasid(device(deviceId), pasid(pasid), ptId).id());
    }

    @Override
    public int devicePasidReplace(int deviceId, IoasidHandle pasid, int ptId) {
        return locked(() -> attachments.replacePasid(device(deviceId), pasid(pasid), ptId)
                .id());
    }

    @Override
    public void devicePasidDetach(int deviceId, IoasidHandle pasid) {
        run(() -> attachments.detachPasid(device(deviceId), pasid(pasid)));
    }

    private static IoasidHandle pasid(IoasidHandle pasid) {
        if (pasid == null) {
            throw err(EINVAL, "no PASID");
        }
        return pasid;
    }

    // ---- vIOMMUs and vDevices

    @Override
    public int viommuAlloc(int deviceId, int hwptId) {
        return locked(() -> {
            Device d = device(deviceId);
            Hwpt parent = table.get(hwptId, ObjectType.HWPT_PAGING, Hwpt.class);
            return viommus.alloc(d, parent).id();
        });
    }

    @Override
    public int vdeviceAlloc(int viommuId, int deviceId, long virtId) {
        return locked(() -> {
            Viommu v = table.get(viommuId, ObjectType.VIOMMU, Viommu.class);
            return viommus.allocVdevice(v, device(deviceId), virtId).id();
        });
    }
}
