package ioasid.backend.virtio.impl;

import java.util.List;
import java.util.Objects;

/**
 * One request as the device completed it: its sequence number on the request queue, the request,
 * the status written to its tail and, for PROBE, the properties returned.
 */
record RequestRecord(long seq, Request request, int status, List<ResvRegion> properties) {
    RequestRecord {
        properties = List.copyOf(properties);
    }

    boolean ok() {
        return status == Status.OK.code;
    }

    @Override
    public boolean equals(Object o) {
        // written out, not generated: see "Records" in VirtioIommuBackend
        return o instanceof RequestRecord r && r.seq == seq && Objects.equals(r.request, request)
                && r.status == status && Objects.equals(r.properties, properties);
    }

    @Override
    public int hashCode() {
        int h = Long.hashCode(seq);
        h = 31 * h + Objects.hashCode(request);
        h = 31 * h + status;
        return 31 * h + Objects.hashCode(properties);
    }

    /** For example {@code MAP domain=3 [0x1000,0x1fff] -> 0x80000 rw : OK}. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(request.toString()).append(" : ")
                .append(Status.name(status));
        for (ResvRegion r : properties) {
            b.append(" resv_mem ").append(r);
        }
        return b.toString();
    }
}
