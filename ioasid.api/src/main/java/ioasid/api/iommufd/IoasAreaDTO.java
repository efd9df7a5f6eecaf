package ioasid.api.iommufd;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One area of an IOAS: a range of IOVA mapped to contiguous physical memory (rule 121). */
@ProviderType
public class IoasAreaDTO extends DTO {
    /** The first IOVA, unsigned. */
    public long iova;
    /** Bytes, unsigned. */
    public long length;
    /** The physical address {@link #iova} maps to. */
    public long paddr;
    /** The {@link ioasid.api.iommu.Prot} flags the area is mapped with in every HWPT. */
    public int prot;
}
