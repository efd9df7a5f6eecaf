package ioasid.shell.impl;

import static ioasid.shell.impl.Shell.hex;

import java.util.Arrays;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.component.annotations.Activate;
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
import ioasid.shell.impl.Args.Count;
import ioasid.shell.impl.Args.Iova;
import ioasid.shell.impl.Args.Millis;
import ioasid.shell.impl.Args.Pasid;

/** The {@code iommu} Gogo scope: what the IOMMU core and its backends hold, and a probe. */
@Component(service = IommuCommands.class)
@GogoCommand(scope = "iommu", function = {"backends", "devices", "groups", "domains", "pasids",
    "viommus", "log", "probe", "await"})
public final class IommuCommands {
    private static final String DEVICE = "the device's name (iommu:devices lists them)";
    private static final String BACKEND = "the backend's name (iommu:backends lists them)";

    @Reference
    IommuService iommu;

    volatile BundleContext context;

    @Activate
    void activate(BundleContext bundleContext) {
        this.context = bundleContext;
    }

    @Descriptor("list the IOMMU backends (one per hardware instance): state, devices, faults")
    public Reply backends() {
        Table t = new Table("NAME", "VENDOR", "STATE", "SERVICE", "PASIDS", "DEVICES", "REFUSED",
                "FAULTS", "PROBLEM");
        for (BackendDTO b : iommu.backends()) {
            t.row(b.name, b.vendor, b.state, b.serviceId, b.maxPasids,
                    b.devices.length == 0 ? null : String.join(" ", b.devices),
                    b.rejectedDevices.length == 0 ? null : String.join(" ", b.rejectedDevices),
                    faults(b), b.problem);
        }
        return Reply.text(t.size() == 0 ? "no IOMMU backend" : t.toString());
    }

    /** "0", or the total and its kinds that are not zero: "3 (translation 2, driver 1)". */
    static String faults(BackendDTO b) {
        StringBuilder kinds = new StringBuilder();
        if (b.faultsByKind != null) {
            b.faultsByKind.forEach((kind, n) -> {
                if (n != 0) {
                    kinds.append(kinds.length() == 0 ? " (" : ", ").append(kind).append(' ')
                            .append(n);
                }
            });
        }
        return b.faults + (kinds.length() == 0 ? "" : kinds + ")");
    }

    @Descriptor("list the devices with their backend, group, stream ID and PASID limit")
    public Reply devices() {
        Table t = new Table("DEVICE", "BACKEND", "PRESENT", "GROUP", "SID", "PASIDS",
                "DRIVERS");
        for (DeviceDTO d : iommu.devices()) {
            t.row(d.name, d.backend, d.present ? "yes" : "no (blocked)", d.groupId,
                    hex(d.streamId), d.maxPasids, d.driverUsers);
        }
        return Reply.text(t.toString());
    }

    @Descriptor("list the groups: current, default and blocking domains, owner, PASIDs")
    public Reply groups() {
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
        return Reply.text(t.toString());
    }

    @Descriptor("list the live domains with their role, groups and PASID attachments")
    public Reply domains() {
        Table t = new Table("DOMAIN", "TYPE", "BACKEND", "ROLE", "GROUPS", "PASIDS", "VIOMMUS");
        for (DomainDTO d : iommu.domains()) {
            t.row(d.id, d.type + (d.nestingParent ? " (nesting parent)" : ""), d.backend,
                    d.role, Arrays.toString(d.groups), String.join(" ", d.pasids), d.viommus);
        }
        return Reply.text(t.toString());
    }

    @Descriptor("list the PASID attachments: device, PASID, domain and kind (sva, private, caller)")
    public Reply pasids() {
        Table t = new Table("DEVICE", "PASID", "DOMAIN", "TYPE", "KIND");
        for (PasidDTO p : iommu.pasids()) {
            t.row(p.device, p.pasid, p.domainId, p.domainType, p.kind);
        }
        return Reply.text(t.size() == 0 ? "no PASID attached" : t.toString());
    }

    @Descriptor("list the vIOMMUs and their virtual device IDs")
    public Reply viommus() {
        Table t = new Table("VIOMMU", "BACKEND", "PARENT", "VDEVICES");
        for (ViommuDTO v : iommu.viommus()) {
            t.row(v.id, v.backend, v.parentDomainId, String.join(" ", v.vdevices));
        }
        return Reply.text(t.size() == 0 ? "no vIOMMU" : t.toString());
    }

    @Descriptor("show a backend's last 20 commands or invalidations")
    public Reply log(@Descriptor(BACKEND) String backend) {
        return log(backend, new Count("20"));
    }

    @Descriptor("show a backend's last commands or invalidations")
    public Reply log(@Descriptor(BACKEND) String backend,
            @Descriptor("how many, newest last") Count count) {
        StringBuilder sb = new StringBuilder();
        for (String line : iommu.commandLog(backend, count.value(1, 100_000))) {
            sb.append(line).append('\n');
        }
        return Reply.text(sb.length() == 0 ? "no commands" : sb.toString());
    }

    /** An hour: longer is a mistake, and far longer would overflow the deadline. */
    static final long MAX_AWAIT_MS = 3_600_000;

    /** What the health checks' readiness monitor registers while every readiness check passes. */
    static final String READY = "(&(objectClass=org.osgi.service.condition.Condition)"
            + "(osgi.condition.id=felix.hc.readiness))";
    static final String HEALTH = "ioasid.health";
    long readyMs = 10_000;

    @Descriptor("wait up to 10 s until the platform is ready: every IOMMU instance it is "
            + "configured with is up (the health checks' felix.hc.readiness condition)")
    public Reply await() {
        long deadline = System.nanoTime() + readyMs * 1_000_000;
        while (!ready()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IoasidException(Errno.EAGAIN, "not ready after " + readyMs
                        + " ms; hc:exec -v readiness says why");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IoasidException(Errno.EINTR, "interrupted before the platform was ready");
            }
        }
        return Reply.text("platform ready");
    }

    private boolean ready() {
        BundleContext c = context;
        if (c == null || Arrays.stream(c.getBundles()).noneMatch(b ->
                b.getSymbolicName().equals(HEALTH) && b.getState() == Bundle.ACTIVE)) {
            throw new IoasidException(Errno.ENOENT, "no readiness checks: " + HEALTH
                    + " is not running; iommu:await COUNT waits for backends");
        }
        try {
            return c.getServiceReferences((String) null, READY) != null;
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Descriptor("wait up to 10 s until at least <count> IOMMU backends are registered")
    public Reply await(@Descriptor("how many backends") Count count) {
        return await(count, new Millis("10000"));
    }

    @Descriptor("wait until at least <count> IOMMU backends are registered")
    public Reply await(@Descriptor("how many backends") Count count,
            @Descriptor("how long at most, in milliseconds") Millis timeout) {
        int want = count.value(0, Integer.MAX_VALUE);
        long ms = timeout.value(MAX_AWAIT_MS);
        long deadline = System.nanoTime() + ms * 1_000_000;
        int have;
        while ((have = iommu.backendCount()) < want && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IoasidException(Errno.EINTR, "interrupted with " + have + " of " + want
                        + " backends ready");
            }
        }
        if (have < want) {
            throw new IoasidException(Errno.EAGAIN, have + " of " + want + " backends after "
                    + ms + " ms");
        }
        return Reply.of(have + " backends ready", have);
    }

    @Descriptor("what the IOMMU does now with a read without PASID")
    public Reply probe(@Descriptor(DEVICE) String device,
            @Descriptor("the I/O virtual address, decimal or 0x hex") Iova iova) {
        return probe(device, iova, new Pasid("0"), "r");
    }

    @Descriptor("what the IOMMU does now with a read")
    public Reply probe(@Descriptor(DEVICE) String device,
            @Descriptor("the I/O virtual address, decimal or 0x hex") Iova iova,
            @Descriptor("the PASID the DMA carries (0: none)") Pasid pasid) {
        return probe(device, iova, pasid, "r");
    }

    @Descriptor("what the IOMMU does now with a DMA")
    public Reply probe(@Descriptor(DEVICE) String device,
            @Descriptor("the I/O virtual address, decimal or 0x hex") Iova iova,
            @Descriptor("the PASID the DMA carries (0: none)") Pasid pasid,
            @Descriptor("r (read) or w (write)") String access) {
        long a = iova.value();
        int p = pasid.value();
        Access acc;
        if (access.equalsIgnoreCase("w")) {
            acc = Access.WRITE;
        } else if (access.equalsIgnoreCase("r")) {
            acc = Access.READ;
        } else {
            throw new IoasidException(Errno.EINVAL, "access '" + access + "' is r or w");
        }
        Translation t = iommu.translate(device, p, a, acc);
        return Reply.of(device + " pasid " + p + " " + acc + " " + hex(a) + ": " + t, t);
    }
}
