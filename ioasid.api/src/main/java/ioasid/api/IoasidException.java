package ioasid.api;

import java.util.Objects;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A failed platform operation, carrying the errno name the kernel would have returned
 * (decision D2). An operation that throws leaves the platform's state as it was before the call,
 * unless its documentation says otherwise.
 */
@ProviderType
public class IoasidException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final Errno errno;

    public IoasidException(Errno errno, String message) {
        super(errno.name() + ": " + message);
        this.errno = Objects.requireNonNull(errno, "errno");
    }

    public IoasidException(Errno errno, String message, Throwable cause) {
        super(errno.name() + ": " + message, cause);
        this.errno = Objects.requireNonNull(errno, "errno");
    }

    /** The errno this failure maps to. */
    public Errno errno() {
        return errno;
    }
}
