package ioasid.core.iommu;

import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.core.iommu.IommuState.err;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Lock;

import ioasid.api.iommu.dto.BackendDTO;
import ioasid.api.iommu.dto.DeviceDTO;
import ioasid.api.iommu.dto.DomainDTO;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.iommu.dto.PasidDTO;
import ioasid.api.iommu.dto.ViommuDTO;
import ioasid.api.iommu.spi.IommuCaps;

/*
 * What operators and tests see: DTO copies of the tables, each taken under the mutex so it is one
 * consistent moment, and a backend's command log, read like a page-table call (no mutex, the
 * backend's read lock), so it is never read from a backend that left.
 *
 * Rules: none of its own; it reports the state the other classes keep to theirs.
 */
final class Snapshots {
    private final IommuState state;

    Snapshots(IommuState state) {
        this.state = state;
    }

    int backendCount() {
        state.lock();
        try {
            return state.backends.size();
        } finally {
            state.unlock();
        }
    }

    BackendDTO[] backends() {
        state.lock();
        try {
            List<BackendDTO> out = new ArrayList<>();
            for (BackendEntry be : state.backends.values()) {
                BackendDTO d = new BackendDTO();
                d.name = be.name;
                d.vendor = be.vendor;
                d.serviceId = be.serviceId;
                IommuCaps caps = be.caps;
                d.caps = caps == null ? null : caps.toString();
                d.maxPasids = caps == null ? 0 : caps.maxPasids();
                d.state = be.failure == null ? "ACTIVE" : "FAILED";
                d.problem = be.failure != null ? be.failure : be.refused;
                d.devices = be.devices.keySet().toArray(new String[0]);
                d.rejectedDevices = be.rejected.toArray(new String[0]);
                d.attaches = be.ops.attaches.sum();
                d.maps = be.ops.maps.sum();
                d.unmaps = be.ops.unmaps.sum();
                d.faultsByKind = be.faults.byKind();
                d.faults = d.faultsByKind.values().stream().mapToLong(Long::longValue).sum();
                out.add(d);
            }
            return out.toArray(new BackendDTO[0]);
        } finally {
            state.unlock();
        }
    }

    DeviceDTO[] devices() {
        state.lock();
        try {
            List<DeviceDTO> out = new ArrayList<>();
            for (DeviceEntry e : state.devices.values()) {
                DeviceDTO d = new DeviceDTO();
                d.name = e.name;
                d.present = e.backend != null;
                d.backend = e.group != null ? e.group.backendName
                        : e.backend != null ? e.backend.name : null;
                d.groupId = e.group == null ? -1 : e.group.id;
                d.streamId = e.info == null ? -1 : e.info.streamId();
                d.maxPasids = e.maxPasids;
                d.driverUsers = e.driverUsers;
                out.add(d);
            }
            out.sort(java.util.Comparator.comparing(x -> x.name));
            return out.toArray(new DeviceDTO[0]);
        } finally {
            state.unlock();
        }
    }

    GroupDTO[] groups() {
        state.lock();
        try {
            List<GroupDTO> out = new ArrayList<>();
            for (GroupImpl g : state.groups.values()) {
                GroupDTO d = new GroupDTO();
                d.id = g.id;
                d.backend = g.backendName;
                d.devices = g.devices.stream().map(x -> x.name).toArray(String[]::new);
                d.domainId = g.domain == null ? -1 : g.domain.id;
                d.domainType = g.domain == null ? null : g.domain.type.name();
                d.defaultDomainId = g.defaultDomain == null ? -1 : g.defaultDomain.id;
                d.defaultDomainType = g.defaultDomain == null ? null : g.defaultDomain.type.name();
                d.blockingDomainId = g.blockingDomain == null ? -1 : g.blockingDomain.id;
                d.owner = g.dmaOwner == null ? null : String.valueOf(g.dmaOwner);
                d.ownerCount = g.ownerCount;
                d.pasids = g.pasids.size();
                d.blocked = g.blocked;
                out.add(d);
            }
            return out.toArray(new GroupDTO[0]);
        } finally {
            state.unlock();
        }
    }

    DomainDTO[] domains() {
        state.lock();
        try {
            List<DomainDTO> out = new ArrayList<>();
            for (DomainImpl dom : state.domains.values()) {
                DomainDTO d = new DomainDTO();
                d.id = dom.id;
                d.type = dom.type.name();
                d.backend = dom.backend.name;
                d.role = dom.role.label;
                d.nestingParent = dom.nestingParent;
                d.groups = dom.groups.stream().mapToInt(g -> g.id).toArray();
                List<String> pasids = new ArrayList<>();
                for (PasidAttach pa : dom.pasids) {
                    for (DeviceEntry dv : pa.group.devices) {
                        pasids.add(dv.name + ":" + pa.pasid);
                    }
                }
                d.pasids = pasids.toArray(new String[0]);
                d.viommus = dom.viommus;
                out.add(d);
            }
            return out.toArray(new DomainDTO[0]);
        } finally {
            state.unlock();
        }
    }

    PasidDTO[] pasids() {
        state.lock();
        try {
            List<PasidDTO> out = new ArrayList<>();
            for (GroupImpl g : state.groups.values()) {
                for (PasidAttach pa : g.pasids.values()) {
                    for (DeviceEntry dv : g.devices) {
                        PasidDTO d = new PasidDTO();
                        d.device = dv.name;
                        d.pasid = pa.pasid;
                        d.domainId = pa.domain.id;
                        d.domainType = pa.domain.type.name();
                        d.kind = pa.kind.label;
                        out.add(d);
                    }
                }
            }
            return out.toArray(new PasidDTO[0]);
        } finally {
            state.unlock();
        }
    }

    ViommuDTO[] viommus() {
        state.lock();
        try {
            List<ViommuDTO> out = new ArrayList<>();
            for (ViommuImpl v : state.viommus.values()) {
                ViommuDTO d = new ViommuDTO();
                d.id = v.id;
                d.backend = v.backend.name;
                d.parentDomainId = v.parent.id;
                d.vdevices = v.vdevs.values().stream()
                        .map(vd -> Long.toUnsignedString(vd.virtId, 16) + "=" + vd.device.name)
                        .sorted().toArray(String[]::new);
                out.add(d);
            }
            return out.toArray(new ViommuDTO[0]);
        } finally {
            state.unlock();
        }
    }

    String[] commandLog(String backend, int max) {
        if (max < 0) {
            throw err(EINVAL, "negative max " + max);
        }
        BackendEntry be = null;
        state.lock();
        try {
            for (BackendEntry e : state.backends.values()) {
                if (e.name.equals(backend)) {
                    be = e;
                }
            }
        } finally {
            state.unlock();
        }
        if (be == null) {
            throw err(ENODEV, "no IOMMU backend " + backend);
        }
        Lock r = be.dataPath.readLock();
        r.lock();
        try {
            if (be.gone) {
                throw err(ENODEV, "IOMMU backend " + backend + " left");
            }
            List<String> log = be.backend.commandLog();
            return log.subList(Math.max(0, log.size() - max), log.size()).toArray(new String[0]);
        } finally {
            r.unlock();
        }
    }
}
