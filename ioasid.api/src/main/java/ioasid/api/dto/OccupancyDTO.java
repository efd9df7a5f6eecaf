package ioasid.api.dto;

import org.osgi.dto.DTO;

/**
 * How the IOASID space is filled, in equal buckets of consecutive IDs: enough to draw a picture
 * of the whole space (a strip or a grid, one cell per bucket) without listing every live ID.
 * Taken whole under the core's lock, so it is consistent with itself. Bucket {@code i} covers the
 * IDs {@code i * bucketSize} to {@code min((i + 1) * bucketSize, maxId + 1) - 1}; ID 0 is never
 * allocated and counts as free.
 *
 * @since 1.1
 */
public class OccupancyDTO extends DTO {
    /** The highest ID of the space, as in {@link CapacityDTO#maxId}. */
    public int maxId;
    /** How many consecutive IDs each bucket covers; at least 1. */
    public int bucketSize;
    /** Live IDs in each bucket, from 0 to {@link #bucketSize}. */
    public int[] live;
    /**
     * For each bucket, the ID of the set holding most of its live IDs (the lowest set ID on a
     * tie), or 0 when the bucket holds none.
     */
    public int[] dominantSet;
}
