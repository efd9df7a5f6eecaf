/**
 * The host's IOASID service as a guest reaches it across a wire (OSGi Remote Services): a guest
 * opens a session with its name and its secret, then allocates, frees, lists and re-claims
 * PASIDs in the one set the host keeps for it. Every parameter and result is a primitive, a
 * String, an array of them or a DTO, so that the calls survive serialization; no handle or
 * private data crosses the wire.
 *
 * <p>The IDs a guest sees are set-private IDs (SPIDs): the host ID the first time it is
 * allocated, and unchanged when the host later gives the set other host IDs.
 *
 * <p>Every failure is an {@link ioasid.api.IoasidException} naming the kernel errno; it reaches
 * the guest as it was thrown.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package ioasid.api.remote;
