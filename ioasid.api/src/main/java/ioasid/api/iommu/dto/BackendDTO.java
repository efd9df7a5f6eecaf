package ioasid.api.iommu.dto;

import java.util.Map;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One IOMMU instance (backend service). */
@ProviderType
public class BackendDTO extends DTO {
    public String name;
    public String vendor;
    public long serviceId;
    /** The capabilities as text. */
    public String caps;
    public int maxPasids;
    public String[] devices;
    /** Devices it declared that the platform refused (a name another backend serves). */
    public String[] rejectedDevices;
    /** "ACTIVE", or "FAILED" when its configuration was refused and it serves nothing. */
    public String state;
    /**
     * Why it is FAILED, or the last configuration change it refused while ACTIVE; null when
     * nothing was refused.
     */
    public String problem;
    /**
     * Attachments this instance programmed since the platform started: each device moved to a
     * domain (an attach, a replace, a return to the default or blocking domain) and each PASID
     * set or replaced on a device. Kept by instance name, like {@link #faults}.
     *
     * @since 1.1
     */
    public long attaches;
    /**
     * Page-table map calls that succeeded on this instance's domains, kept likewise.
     *
     * @since 1.1
     */
    public long maps;
    /**
     * Page-table unmap calls (unmap and unmap_fast) on its domains, kept likewise.
     *
     * @since 1.1
     */
    public long unmaps;
    /**
     * The IOMMU faults of this instance since the platform started, the sum of
     * {@link #faultsByKind}. They are kept by instance name: a backend that leaves and returns
     * goes on from where it was. A count only grows.
     *
     * @since 1.1
     */
    public long faults;
    /**
     * The faults by kind, each key always present:
     * <ul>
     * <li>{@code "translation"}: DMA the hardware faulted, as a translation probe walked it (what
     * an SMMUv3 event record, a VT-d fault record or a virtio-iommu fault event would report);
     * <li>{@code "driver"}: backend calls that failed in the driver rather than through their
     * caller: failures the core could only log (a default or blocking domain that would not
     * attach, an undo, a PASID removal, a free or destroy that failed, a device list that could
     * not be read), and failures with EIO or without an {@link ioasid.api.IoasidException}.
     * </ul>
     * A typed refusal of a caller's request (EINVAL, EBUSY...) and a refused configuration
     * ({@link #problem}) are not faults.
     *
     * @since 1.1
     */
    public Map<String, Long> faultsByKind;
}
