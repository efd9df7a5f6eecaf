package ioasid.core.iommu;

import ioasid.api.IoasidHandle;

/** One PASID of one group attached to one domain (an entry of the group's pasid_array). */
final class PasidAttach {
    enum Kind {
        CALLER("caller"),
        SVA("sva"),
        PRIVATE("private");

        final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    final GroupImpl group;
    final int pasid;
    /** The group's map key, boxed once: a removal allocates nothing. */
    final Integer key;
    final IoasidHandle handle;
    final DomainImpl domain;
    final Kind kind;

    PasidAttach(GroupImpl group, IoasidHandle handle, DomainImpl domain, Kind kind) {
        this.group = group;
        this.pasid = handle.id();
        this.key = pasid;
        this.handle = handle;
        this.domain = domain;
        this.kind = kind;
    }
}
