package ioasid.integration.fuzz;

import ioasid.api.iommu.IommuService;

/** Snapshots of an IOMMU service without naming any backend class (safe inside Felix). */
final class IommuBenchFree {
    private IommuBenchFree() {
    }

    static String snapshot(IommuService iommu) {
        return Fuzz.str(iommu.groups()) + Fuzz.str(iommu.domains()) + Fuzz.str(iommu.pasids())
                + Fuzz.str(iommu.viommus()) + Fuzz.str(iommu.devices());
    }
}
