package ioasid.core.iommu;

import java.util.LinkedHashMap;
import java.util.Map;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;

/** A process's SVA state: its set, its PASID, its SVA domains with their users (rule 37). */
final class MmState {
    IoasidSet set;
    IoasidHandle pasid;
    final Map<DomainImpl, Integer> domains = new LinkedHashMap<>();
    int binds;
}
