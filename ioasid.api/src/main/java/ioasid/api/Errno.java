package ioasid.api;

import org.osgi.annotation.versioning.ProviderType;

/** The kernel errno names the platform reports, with their Linux numbers (decision D2). */
@ProviderType
public enum Errno {
    EPERM(1, "Operation not permitted"),
    ENOENT(2, "No such entry"),
    EINTR(4, "Interrupted system call"),
    EIO(5, "I/O error"),
    E2BIG(7, "Argument list too long"),
    EAGAIN(11, "Try again"),
    ENOMEM(12, "Out of memory"),
    EACCES(13, "Permission denied"),
    EFAULT(14, "Bad address"),
    EBUSY(16, "Device or resource busy"),
    EEXIST(17, "Already exists"),
    EXDEV(18, "Cross-device link"),
    ENODEV(19, "No such device"),
    EINVAL(22, "Invalid argument"),
    ENOSPC(28, "No space left"),
    ERANGE(34, "Out of range"),
    ENOSYS(38, "Function not implemented"),
    EOVERFLOW(75, "Value too large"),
    EOPNOTSUPP(95, "Operation not supported");

    private final int number;
    private final String text;

    Errno(int number, String text) {
        this.number = number;
        this.text = text;
    }

    /** The positive Linux errno value; the kernel returns its negation. */
    public int number() {
        return number;
    }

    /** The short strerror-like text. */
    public String text() {
        return text;
    }
}
