package ioasid.api.dto;

import java.io.Serializable;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/**
 * The state of one IOASID set, taken by {@link ioasid.api.IoasidService#exportSet} so that
 * {@link ioasid.api.IoasidService#importSet} can recreate the set in another IOASID space: the
 * live migration of a guest's PASIDs from one host to another (decision D36). The guest sees
 * each ID's SPID, which every import keeps; the ID itself stays the same only where it is free
 * at the destination.
 *
 * <p>What travels: the token and its type, the quota, and each IDLE or ACTIVE member with its
 * ID, its SPID and its state. What does not: references (they belong to the source's users,
 * which let go when the source set is freed), private data (objects of the source framework),
 * outstanding BINDs of publishers, and members already FREE_PENDING, which are listed in
 * {@link #freePendingIds} and left behind (D36). It is a copy: changing it changes nothing.
 * It is serializable so that it can cross a wire as it is.
 *
 * @since 1.2
 */
@ProviderType
public class SetExportDTO extends DTO implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The layout version this platform writes and reads. */
    public static final int FORMAT = 1;

    /** The layout version, {@link #FORMAT}; an import refuses any other (EINVAL). */
    public int format;
    /** The set's number at the source, for the operator; the import gets a new number. */
    public int setId;
    /** A {@link ioasid.api.TokenType} name. */
    public String tokenType;
    /** The token's string form, null for an anonymous set. */
    public String token;
    /** The label of the set's owner at the source (decision D19), or null; for information. */
    public String owner;
    /** How many IDs the set may hold, at least 1 and at least the number of members. */
    public int quota;
    /** The ID width of the source space, for information. */
    public int idBits;
    /** The IDLE and ACTIVE members, in ascending ID order. */
    public SetMemberDTO[] members;
    /** The members that were FREE_PENDING at export and stay behind (D36), ascending. */
    public int[] freePendingIds;
}
