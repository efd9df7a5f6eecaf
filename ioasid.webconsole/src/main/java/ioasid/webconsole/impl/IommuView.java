package ioasid.webconsole.impl;

import java.util.Map;
import java.util.TreeMap;

import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.dto.BackendDTO;
import ioasid.api.iommu.dto.DeviceDTO;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.iommu.dto.PasidDTO;
import ioasid.api.iommu.dto.ViommuDTO;

/**
 * The IOMMU page's data, as the service answers it: backends with their state, groups with
 * their current, default and blocking domains and owners, PASID attachments, vIOMMUs with their
 * vDevices, the tail of each backend's command log, and the devices the probe form offers. Like
 * {@link IoasidView}, values and escaped HTML tables in one JSON document.
 */
final class IommuView {
    /** Lines of each backend's command log shown. */
    static final int LOG_TAIL = 12;

    private IommuView() {
    }

    static String json(IommuService s) {
        BackendDTO[] backends = s.backends();
        GroupDTO[] groups = s.groups();
        PasidDTO[] pasids = s.pasids();
        ViommuDTO[] viommus = s.viommus();
        DeviceDTO[] devices = s.devices();
        Json j = new Json().object();
        j.key("backends").array();
        for (BackendDTO b : backends) {
            j.object().field("name", b.name).field("vendor", b.vendor).field("state", b.state)
                    .field("problem", b.problem).field("devices", b.devices)
                    .field("faults", b.faults).end();
        }
        j.end();
        j.key("groups").array();
        for (GroupDTO g : groups) {
            j.object().field("id", g.id).field("backend", g.backend)
                    .field("devices", g.devices).field("domainId", g.domainId)
                    .field("defaultDomainId", g.defaultDomainId)
                    .field("blockingDomainId", g.blockingDomainId).field("owner", g.owner)
                    .field("pasids", g.pasids).end();
        }
        j.end();
        j.key("pasids").array();
        for (PasidDTO p : pasids) {
            j.object().field("device", p.device).field("pasid", p.pasid)
                    .field("domainId", p.domainId).field("kind", p.kind).end();
        }
        j.end();
        j.key("viommus").array();
        for (ViommuDTO v : viommus) {
            j.object().field("id", v.id).field("backend", v.backend)
                    .field("parentDomainId", v.parentDomainId).field("vdevices", v.vdevices)
                    .end();
        }
        j.end();
        j.key("devices").array();
        for (DeviceDTO d : devices) {
            j.value(d.name);
        }
        j.end();
        StringBuilder logs = new StringBuilder();
        for (BackendDTO b : backends) {
            logs.append(log(b.name, s.commandLog(b.name, LOG_TAIL)));
        }
        j.key("html").object().field("backends", backends(backends))
                .field("groups", groups(groups)).field("pasids", pasids(pasids))
                .field("viommus", viommus(viommus)).field("logs", logs.toString()).end();
        return j.end().toString();
    }

    static String backends(BackendDTO[] backends) {
        Html h = Html.table("iommu-backends", "BACKEND", "VENDOR", "STATE", "FAULTS", "DEVICES",
                "REFUSED", "PROBLEM");
        for (BackendDTO b : backends) {
            h.row(b.name, b.vendor, b.state, faults(b), join(b.devices), join(b.rejectedDevices),
                    b.problem);
        }
        if (backends.length == 0) {
            h.note(7, "no IOMMU backend");
        }
        return h.done();
    }

    static String groups(GroupDTO[] groups) {
        Html h = Html.table("iommu-groups", "GROUP", "BACKEND", "DEVICES", "DOMAIN", "DEFAULT",
                "BLOCKING", "OWNER", "OWNERS", "PASIDS");
        for (GroupDTO g : groups) {
            h.row(g.id, g.backend, join(g.devices), domain(g.domainId, g.domainType),
                    domain(g.defaultDomainId, g.defaultDomainType),
                    g.blockingDomainId > 0 ? g.blockingDomainId : null, g.owner, g.ownerCount,
                    g.pasids);
        }
        return h.done();
    }

    static String pasids(PasidDTO[] pasids) {
        Html h = Html.table("iommu-pasids", "DEVICE", "PASID", "DOMAIN", "KIND");
        for (PasidDTO p : pasids) {
            h.row(p.device, p.pasid, domain(p.domainId, p.domainType), p.kind);
        }
        if (pasids.length == 0) {
            h.note(4, "no PASID attached");
        }
        return h.done();
    }

    static String viommus(ViommuDTO[] viommus) {
        Html h = Html.table("iommu-viommus", "VIOMMU", "BACKEND", "PARENT DOMAIN", "VDEVICES");
        for (ViommuDTO v : viommus) {
            h.row(v.id, v.backend, v.parentDomainId, join(v.vdevices));
        }
        if (viommus.length == 0) {
            h.note(4, "no vIOMMU");
        }
        return h.done();
    }

    static String log(String backend, String[] lines) {
        StringBuilder sb = new StringBuilder("<h3>").append(Html.text(backend))
                .append("</h3><pre class=\"iommu-log\">");
        if (lines == null || lines.length == 0) {
            sb.append("(empty)");
        } else {
            for (String line : lines) {
                sb.append(Html.text(line)).append('\n');
            }
        }
        return sb.append("</pre>").toString();
    }

    /** The total, with the kinds that make it up when there are any: "3 (translation 3)". */
    static String faults(BackendDTO b) {
        if (b.faultsByKind == null || b.faultsByKind.isEmpty() || b.faults == 0) {
            return String.valueOf(b.faults);
        }
        StringBuilder sb = new StringBuilder().append(b.faults).append(" (");
        String sep = "";
        for (Map.Entry<String, Long> e : new TreeMap<>(b.faultsByKind).entrySet()) {
            if (e.getValue() != 0) {
                sb.append(sep).append(e.getKey()).append(' ').append(e.getValue());
                sep = ", ";
            }
        }
        return sb.append(')').toString();
    }

    private static String domain(int id, String type) {
        return id <= 0 ? null : type == null ? String.valueOf(id) : id + " " + type;
    }

    private static String join(String[] values) {
        return values == null || values.length == 0 ? null : String.join(" ", values);
    }
}
