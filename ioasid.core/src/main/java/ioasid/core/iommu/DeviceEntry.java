package ioasid.core.iommu;

import ioasid.api.iommu.spi.DeviceInfo;

/** A device, kept while its backend is away so it can return to its group (D17). */
final class DeviceEntry {
    final String name;
    /** Null while no backend serves it. */
    volatile BackendEntry backend;
    DeviceInfo info;
    GroupImpl group;
    int maxPasids;
    /** Kernel drivers bound through useDefaultDomain (part of the group's owner count). */
    int driverUsers;
    VdeviceImpl vdevice;

    DeviceEntry(String name) {
        this.name = name;
    }

    @Override
    public String toString() {
        return name;
    }
}
