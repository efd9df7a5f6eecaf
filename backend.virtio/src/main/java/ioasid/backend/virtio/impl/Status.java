package ioasid.backend.virtio.impl;

import ioasid.api.Errno;

/**
 * Request status codes, the {@code VIRTIO_IOMMU_S_*} values the device writes into a request's
 * tail (NOMEM came after v0.9), and the errno the driver turns each into (rule 100).
 */
enum Status {
    OK(0),
    IOERR(1),
    UNSUPP(2),
    DEVERR(3),
    INVAL(4),
    RANGE(5),
    NOENT(6),
    FAULT(7),
    NOMEM(8);

    final int code;

    Status(int code) {
        this.code = code;
    }

    /** The status with this code, or null for a code no header defines. */
    static Status of(int code) {
        for (Status s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return null;
    }

    /** The name of a code as logs show it; an undefined code prints as a number. */
    static String name(int code) {
        Status s = of(code);
        return s != null ? s.name() : "status " + code;
    }

    /**
     * {@code viommu_get_req_errno}: OK is no error (null); UNSUPP is ENOSYS; INVAL, RANGE, NOENT,
     * FAULT and NOMEM keep their meaning; IOERR, DEVERR and any code the driver does not know
     * are EIO.
     */
    static Errno errno(int code) {
        Status s = of(code);
        if (s == null) {
            return Errno.EIO;
        }
        switch (s) {
            case OK:
                return null;
            case UNSUPP:
                return Errno.ENOSYS;
            case INVAL:
                return Errno.EINVAL;
            case RANGE:
                return Errno.ERANGE;
            case NOENT:
                return Errno.ENOENT;
            case FAULT:
                return Errno.EFAULT;
            case NOMEM:
                return Errno.ENOMEM;
            default:
                return Errno.EIO;
        }
    }
}
