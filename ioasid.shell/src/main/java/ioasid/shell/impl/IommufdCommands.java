package ioasid.shell.impl;

import static ioasid.shell.impl.Shell.hex;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommufd.IoasAreaDTO;
import ioasid.api.iommufd.Iommufd;
import ioasid.api.iommufd.IommufdObjectDTO;
import ioasid.api.iommufd.IommufdService;
import ioasid.api.iommufd.IovaRange;
import ioasid.shell.impl.Args.Iova;
import ioasid.shell.impl.Args.Length;
import ioasid.shell.impl.Args.ObjectId;
import ioasid.shell.impl.Args.Paddr;

/**
 * The {@code iommu} scope's iommufd commands: I/O address spaces, HWPTs and devices of one
 * iommufd context that the console shares, opened on first use as owner "iommufd shell" and
 * closed, with everything in it, when the commands go. Immediate: a delayed component is
 * deactivated whenever Gogo releases it after a command, which would close the context and
 * lose every object between two commands.
 */
@Component(service = IommufdCommands.class, immediate = true)
@GogoCommand(scope = "iommu", function = {"objects", "ioas", "map", "unmap", "reserve", "bind",
    "unbind", "hwpt", "attach", "detach", "replace", "destroy"})
public final class IommufdCommands {
    private static final String OBJECT = "an object ID (iommu:objects lists them)";
    private static final String IOAS = "the IOAS's object ID";
    private static final String DEVICE = "the bound device's object ID (from iommu:bind)";
    private static final String PT = "a HWPT's or an IOAS's object ID";

    @Reference
    IommufdService service;

    private Iommufd fd;

    /** The console's context, opened on first use. */
    private synchronized Iommufd fd() {
        if (fd == null) {
            fd = service.open("shell");
        }
        return fd;
    }

    @Deactivate
    synchronized void close() {
        if (fd != null) {
            fd.close();
            fd = null;
        }
    }

    @Descriptor("list the objects of the console's iommufd context: IOASes, HWPTs, devices, "
            + "vIOMMUs, vDevices")
    public Reply objects() {
        Table t = new Table("ID", "TYPE", "USERS", "IOAS", "HWPT", "DOMAIN", "DEVICE", "PASIDS");
        for (IommufdObjectDTO o : fd().objects()) {
            String type = o.type + (o.auto ? " (auto)" : "") + (o.nestParent ? " (nest parent)"
                    : "");
            t.row(o.id, type, o.users, o.ioasId == 0 ? null : o.ioasId,
                    o.hwptId == 0 ? null : o.hwptId, o.type.equals("HWPT_PAGING") ? o.domainId
                            : null, o.device, o.pasids.length == 0 ? null
                                    : String.join(" ", o.pasids));
        }
        return Reply.text(t.size() == 0 ? "no iommufd object" : t.toString());
    }

    @Descriptor("allocate an empty IOAS")
    public Reply ioas() {
        int id = fd().ioasAlloc();
        return Reply.of("IOAS " + id + " allocated", id);
    }

    @Descriptor("show an IOAS: its areas, the IOVA ranges a map may use, its alignment")
    public Reply ioas(@Descriptor(IOAS) ObjectId ioas) {
        int id = ioas.value();
        Iommufd f = fd();
        Table t = new Table("IOVA", "LAST", "LENGTH", "PADDR", "PROT");
        for (IoasAreaDTO a : f.ioasAreas(id)) {
            t.row(hex(a.iova), hex(a.iova + a.length - 1), hex(a.length), hex(a.paddr),
                    prot(a.prot));
        }
        StringBuilder sb = new StringBuilder(t.size() == 0 ? "no area\n" : t.toString());
        sb.append("IOVA ranges:");
        for (IovaRange r : f.ioasIovaRanges(id)) {
            sb.append(' ').append(r);
        }
        sb.append("\nalignment: ").append(hex(f.ioasIovaAlignment(id)));
        return Reply.text(sb.toString());
    }

    private static String prot(int prot) {
        return ((prot & ioasid.api.iommu.Prot.READ) != 0 ? "r" : "")
                + ((prot & ioasid.api.iommu.Prot.WRITE) != 0 ? "w" : "");
    }

    @Descriptor("map physical memory, readable and writeable, at an IOVA the IOAS allocates")
    public Reply map(@Descriptor(IOAS) ObjectId ioas,
            @Descriptor("the physical address, decimal or 0x hex") Paddr paddr,
            @Descriptor("bytes, decimal or 0x hex") Length length) {
        long at = fd().ioasMap(ioas.value(), 0, paddr.value(), length.value(),
                Iommufd.MAP_READABLE | Iommufd.MAP_WRITEABLE);
        return Reply.of("mapped " + hex(length.value()) + " bytes at IOVA " + hex(at), at);
    }

    @Descriptor("map physical memory, readable and writeable, at a fixed IOVA")
    public Reply map(@Descriptor(IOAS) ObjectId ioas,
            @Descriptor("the I/O virtual address, decimal or 0x hex") Iova iova,
            @Descriptor("the physical address, decimal or 0x hex") Paddr paddr,
            @Descriptor("bytes, decimal or 0x hex") Length length) {
        return map(ioas, iova, paddr, length, "rw");
    }

    @Descriptor("map physical memory at a fixed IOVA")
    public Reply map(@Descriptor(IOAS) ObjectId ioas,
            @Descriptor("the I/O virtual address, decimal or 0x hex") Iova iova,
            @Descriptor("the physical address, decimal or 0x hex") Paddr paddr,
            @Descriptor("bytes, decimal or 0x hex") Length length,
            @Descriptor("r, w or rw: what the device may do") String access) {
        int flags = Iommufd.MAP_FIXED_IOVA;
        switch (access.toLowerCase()) {
            case "r" -> flags |= Iommufd.MAP_READABLE;
            case "w" -> flags |= Iommufd.MAP_WRITEABLE;
            case "rw" -> flags |= Iommufd.MAP_READABLE | Iommufd.MAP_WRITEABLE;
            default -> throw new IoasidException(Errno.EINVAL, "access '" + access
                    + "' is r, w or rw");
        }
        long at = fd().ioasMap(ioas.value(), iova.value(), paddr.value(), length.value(), flags);
        return Reply.of("mapped " + hex(length.value()) + " bytes at IOVA " + hex(at), at);
    }

    @Descriptor("unmap every area of an IOAS")
    public Reply unmap(@Descriptor(IOAS) ObjectId ioas) {
        long bytes = fd().ioasUnmap(ioas.value(), 0, -1L);
        return Reply.of("unmapped " + hex(bytes) + " bytes", bytes);
    }

    @Descriptor("unmap the areas that lie entirely in a range; one cut by it, or none in it, is "
            + "ENOENT")
    public Reply unmap(@Descriptor(IOAS) ObjectId ioas,
            @Descriptor("the first IOVA of the range") Iova iova,
            @Descriptor("bytes, decimal or 0x hex") Length length) {
        long bytes = fd().ioasUnmap(ioas.value(), iova.value(), length.value());
        return Reply.of("unmapped " + hex(bytes) + " bytes", bytes);
    }

    @Descriptor("reserve an IOVA range of an IOAS: no map may use it")
    public Reply reserve(@Descriptor(IOAS) ObjectId ioas,
            @Descriptor("the first IOVA of the range") Iova start,
            @Descriptor("bytes, decimal or 0x hex") Length length) {
        fd().ioasReserveIova(ioas.value(), start.value(), length.value());
        return Reply.text("reserved [" + hex(start.value()) + ", "
                + hex(start.value() + length.value() - 1) + "] in IOAS " + ioas.value());
    }

    @Descriptor("bind a device, claiming its DMA: its group is blocked until it is attached")
    public Reply bind(@Descriptor("the device's name (iommu:devices lists them)") String device) {
        int id = fd().deviceBind(Shell.name(device, "device"));
        return Reply.of(device + " bound as object " + id, id);
    }

    @Descriptor("unbind a device: detach it, drop its vDevice, release its DMA")
    public Reply unbind(@Descriptor(DEVICE) ObjectId device) {
        fd().deviceUnbind(device.value());
        return Reply.text("object " + device.value() + " unbound");
    }

    @Descriptor("allocate a HWPT for a device's IOMMU that follows an IOAS")
    public Reply hwpt(@Descriptor(DEVICE) ObjectId device, @Descriptor(IOAS) ObjectId ioas) {
        int id = fd().hwptAlloc(device.value(), ioas.value(), 0);
        return Reply.of("HWPT " + id + " follows IOAS " + ioas.value(), id);
    }

    @Descriptor("attach a device to a HWPT, or to an IOAS (a compatible HWPT found or made)")
    public Reply attach(@Descriptor(DEVICE) ObjectId device, @Descriptor(PT) ObjectId pt) {
        int hwpt = fd().deviceAttach(device.value(), pt.value());
        return Reply.of("object " + device.value() + " attached to HWPT " + hwpt, hwpt);
    }

    @Descriptor("detach a device: its group is blocked once its last device goes")
    public Reply detach(@Descriptor(DEVICE) ObjectId device) {
        fd().deviceDetach(device.value());
        return Reply.text("object " + device.value() + " detached");
    }

    @Descriptor("move an attached device to another HWPT or IOAS in one step")
    public Reply replace(@Descriptor(DEVICE) ObjectId device, @Descriptor(PT) ObjectId pt) {
        int hwpt = fd().deviceReplace(device.value(), pt.value());
        return Reply.of("object " + device.value() + " now on HWPT " + hwpt, hwpt);
    }

    @Descriptor("destroy an IOAS, HWPT, vIOMMU or vDevice; one in use is EBUSY")
    public Reply destroy(@Descriptor(OBJECT) ObjectId id) {
        fd().destroy(id.value());
        return Reply.text("object " + id.value() + " destroyed");
    }
}
