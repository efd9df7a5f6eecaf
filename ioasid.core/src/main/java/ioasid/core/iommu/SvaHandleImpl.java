package ioasid.core.iommu;

import ioasid.api.IoasidHandle;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.SvaHandle;

/** One SVA bind. */
final class SvaHandleImpl implements SvaHandle {
    final IommuState owner;
    final DeviceEntry device;
    final ProcessAddressSpace mm;
    final IoasidHandle pasid;
    final DomainImpl domain;
    volatile boolean live = true;

    SvaHandleImpl(IommuState owner, DeviceEntry device, ProcessAddressSpace mm, IoasidHandle pasid,
            DomainImpl domain) {
        this.owner = owner;
        this.device = device;
        this.mm = mm;
        this.pasid = pasid;
        this.domain = domain;
    }

    @Override
    public String device() {
        return device.name;
    }

    @Override
    public ProcessAddressSpace mm() {
        return mm;
    }

    @Override
    public IoasidHandle pasid() {
        return pasid;
    }

    @Override
    public IommuDomain domain() {
        return domain;
    }

    @Override
    public boolean live() {
        return live;
    }

    @Override
    public String toString() {
        return "SVA bind " + device.name + " pasid " + pasid.id() + (live ? "" : " (unbound)");
    }
}
