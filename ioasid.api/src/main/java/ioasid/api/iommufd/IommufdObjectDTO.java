package ioasid.api.iommufd;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One object of an {@link Iommufd} context, for operators, shells and tests. */
@ProviderType
public class IommufdObjectDTO extends DTO {
    /** Its ID in the context's object table. */
    public int id;
    /** The {@link ObjectType} name. */
    public String type;
    /**
     * What keeps it from being destroyed (rule 120): for an IOAS its HWPTs, for a HWPT its
     * attached devices, PASIDs and vIOMMUs, for a vIOMMU its vDevices; 0 when it can go. A bound
     * device always shows 1: it goes by unbinding.
     */
    public int users;
    /** HWPT: the IOAS it follows; 0 otherwise. */
    public int ioasId;
    /** DEVICE: the HWPT its DMA without PASID is attached to; VIOMMU: its parent; else 0. */
    public int hwptId;
    /** HWPT: its domain in the IOMMU core ({@link ioasid.api.iommu.IommuService#domain}). */
    public int domainId;
    /** HWPT: whether attach made it (destroyed with its last device) rather than the user. */
    public boolean auto;
    /** HWPT: whether vIOMMUs may sit on it. */
    public boolean nestParent;
    /** DEVICE and VDEVICE: the device's name; VIOMMU: the IOMMU instance. */
    public String device;
    /** DEVICE: its PASID attachments as "pasid=hwptId"; empty otherwise. */
    public String[] pasids;
    /** VDEVICE: its vIOMMU. */
    public int viommuId;
    /** VDEVICE: the virtual ID, unsigned. */
    public long virtId;
}
