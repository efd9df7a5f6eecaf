package ioasid.api.dto;

import java.io.Serializable;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/**
 * One member of an exported set ({@link SetExportDTO}).
 *
 * @since 1.2
 */
@ProviderType
public class SetMemberDTO extends DTO implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The ID at the source; the import takes the same one where it is free (decision D36). */
    public int id;
    /**
     * The set-private ID the guest knows the ID by, kept by every import. An ID that had none at
     * the source is exported with its own number as SPID, the number the guest has seen.
     */
    public int spid;
    /** {@code IDLE} or {@code ACTIVE}, an {@link ioasid.api.IoasidState} name. */
    public String state;
    /**
     * The references held at the source, the allocation reference included: 1 when IDLE, more
     * when ACTIVE. For information: an imported ID starts IDLE, with the allocation reference
     * only, and its users at the destination take their own (D36).
     */
    public int refs;
}
