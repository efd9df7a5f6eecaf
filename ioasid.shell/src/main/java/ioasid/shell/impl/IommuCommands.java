package ioasid.shell.impl;

import static ioasid.shell.impl.Shell.args;
import static ioasid.shell.impl.Shell.hex;
import static ioasid.shell.impl.Shell.integer;
import static ioasid.shell.impl.Shell.number;

import java.util.Arrays;

import org.apache.felix.service.command.Descriptor;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.dto.BackendDTO;
import ioasid.api.iommu.dto.DeviceDTO;
import ioasid.api.iommu.dto.DomainDTO;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.iommu.dto.PasidDTO;
import ioasid.api.iommu.dto.ViommuDTO;

/** The {@code iommu} Gogo scope: what the IOMMU core and its backends hold, and a probe. */
@Component(service = IommuCommands.class, property = {"osgi.command.scope=iommu",
    "osgi.command.function=backends", "osgi.command.function=devices",
    "osgi.command.function=groups", "osgi.command.function=domains",
    "osgi.command.function=pasids", "osgi.command.function=viommus",
    "osgi.command.function=log", "osgi.command.function=probe", "osgi.command.function=await"})
public final class IommuCommands {

    @Reference
    IommuService iommu;

    @Descriptor("list the IOMMU backends (one per hardware instance) and their devices")
    public void backends(String... a) {
        Shell.run(() -> {
            args(a, 0, 0, "backends");
            Table t = new Table("NAME", "VENDOR", "SERVICE", "PASIDS", "DEVICES", "REFUSED");
            for (BackendDTO b : iommu.backends()) {
                t.row(b.name, b.vendor, b.serviceId, b.maxPasids, String.join(" ", b.devices),
                        b.rejectedDevices.length == 0 ? null : String.join(" ", b.rejectedDevices));
            }
            return t.size() == 0 ? "no IOMMU backend\n" : t.toString();
        });
    }

    @Descriptor("list the devices with their backend, group, stream ID and PASID limit")
    public void devices(String... a) {
        Shell.run(() -> {
            args(a, 0, 0, "devices");
            Table t = new Table("DEVICE", "BACKEND", "PRESENT", "GROUP", "SID", "PASIDS",
                    "DRIVERS");
            for (DeviceDTO d : iommu.devices()) {
                t.row(d.name, d.backend, d.present ? "yes" : "no (blocked)", d.groupId,
                        hex(d.streamId), d.maxPasids, d.driverUsers);
            }
            return t.toString();
        });
    }

    @Descriptor("list the groups: current, default and blocking domains, owner, PASIDs")
    public void groups(String... a) {
        Shell.run(() -> {
            args(a, 0, 0, "groups");
            Table t = new Table("GROUP", "BACKEND", "DEVICES", "DOMAIN", "DEFAULT", "BLOCKING",
                    "OWNER", "OWNERS", "PASIDS");
            for (GroupDTO g : iommu.groups()) {
                String dom = g.blocked ? "BLOCKED (no IOMMU)" : g.domainId < 0 ? null
                        : g.domainId + " " + g.domainType;
                t.row(g.id, g.backend, String.join(" ", g.devices), dom,
                        g.defaultDomainId < 0 ? null : g.defaultDomainId + " " + g.defaultDomainType,
                        g.blockingDomainId < 0 ? null : g.blockingDomainId, g.owner, g.ownerCount,
                        g.pasids);
            }
            return t.toString();
        });
    }

    @Descriptor("list the live domains with their role, groups and PASID attachments")
    public void domains(String... a) {
        Shell.run(() -> {
            args(a, 0, 0, "domains");
            Table t = new Table("DOMAIN", "TYPE", "BACKEND", "ROLE", "GROUPS", "PASIDS",
                    "VIOMMUS");
            for (DomainDTO d : iommu.domains()) {
                t.row(d.id, d.type + (d.nestingParent ? " (nesting parent)" : ""), d.backend,
                        d.role, Arrays.toString(d.groups), String.join(" ", d.pasids), d.viommus);
            }
            return t.toString();
        });
    }

    @Descriptor("list the PASID attachments: device, PASID, domain and kind (sva, private, caller)")
    public void pasids(String... a) {
        Shell.run(() -> {
            args(a, 0, 0, "pasids");
            Table t = new Table("DEVICE", "PASID", "DOMAIN", "TYPE", "KIND");
            for (PasidDTO p : iommu.pasids()) {
                t.row(p.device, p.pasid, p.domainId, p.domainType, p.kind);
            }
            return t.size() == 0 ? "no PASID attached\n" : t.toString();
        });
    }

    @Descriptor("list the vIOMMUs and their virtual device IDs")
    public void viommus(String... a) {
        Shell.run(() -> {
            args(a, 0, 0, "viommus");
            Table t = new Table("VIOMMU", "BACKEND", "PARENT", "VDEVICES");
            for (ViommuDTO v : iommu.viommus()) {
                t.row(v.id, v.backend, v.parentDomainId, String.join(" ", v.vdevices));
            }
            return t.size() == 0 ? "no vIOMMU\n" : t.toString();
        });
    }

    @Descriptor("show a backend's last commands or invalidations: log <backend> [count] (20)")
    public void log(String... a) {
        Shell.run(() -> {
            args(a, 1, 2, "log <backend> [count]");
            int n = a.length > 1 ? integer(a[1], "count") : 20;
            StringBuilder sb = new StringBuilder();
            for (String line : iommu.commandLog(a[0], n)) {
                sb.append(line).append('\n');
            }
            return sb.length() == 0 ? "no commands\n" : sb.toString();
        });
    }

    /** An hour: longer is a mistake, and far longer would overflow the deadline. */
    static final long MAX_AWAIT_MS = 3_600_000;

    @Descriptor("wait until at least <count> IOMMU backends are registered: "
            + "await <count> [ms] (10000)")
    public void await(String... a) {
        Shell.run(() -> {
            args(a, 1, 2, "await <count> [ms]");
            int want = integer(a[0], "count");
            long ms = a.length > 1 ? number(a[1], "timeout") : 10_000;
            if (want < 0 || ms < 0 || ms > MAX_AWAIT_MS) {
                throw new IoasidException(Errno.EINVAL, "await wants a count >= 0 and a timeout"
                        + " in [0, " + MAX_AWAIT_MS + "] ms, not " + want + " and " + ms);
            }
            long deadline = System.nanoTime() + ms * 1_000_000;
            int have;
            while ((have = iommu.backends().length) < want && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            if (have < want) {
                throw new IoasidException(Errno.EAGAIN, have + " of " + want
                        + " backends after " + ms + " ms");
            }
            return have + " backends ready\n";
        });
    }

    @Descriptor("what the IOMMU does with a DMA now: probe <device> <iova> [pasid] [r|w]")
    public void probe(String... a) {
        Shell.run(() -> {
            args(a, 2, 4, "probe <device> <iova> [pasid] [r|w]");
            long iova = number(a[1], "IOVA");
            int pasid = a.length > 2 ? integer(a[2], "PASID") : 0;
            Access access = Access.READ;
            if (a.length > 3) {
                if (a[3].equalsIgnoreCase("w")) {
                    access = Access.WRITE;
                } else if (!a[3].equalsIgnoreCase("r")) {
                    throw new IoasidException(Errno.EINVAL, "access '" + a[3] + "' is r or w");
                }
            }
            Translation t = iommu.translate(a[0], pasid, iova, access);
            return a[0] + " pasid " + pasid + " " + access + " " + hex(iova) + ": " + t + "\n";
        });
    }
}
