package ioasid.shell.impl;

import java.util.ArrayList;
import java.util.List;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/** The argument types of the commands; their simple names are what {@code help} shows. */
final class Args {
    private Args() {
    }

    /** A set, by the number {@code ioasid:sets} lists. */
    public static final class SetNumber extends Typed {
        SetNumber(Object typed) {
            super(typed);
        }

        int value() {
            return (int) inRange(typed, "set", 1, Integer.MAX_VALUE);
        }
    }

    /** An IOASID. */
    public static final class IoasidNumber extends Typed {
        IoasidNumber(Object typed) {
            super(typed);
        }

        int value() {
            return (int) inRange(typed, "ID", 0, Integer.MAX_VALUE);
        }
    }

    /** IOASIDs: "7", "1-100", "1,3,5-9", or what a bulk {@code alloc} returned. */
    public static final class IoasidList extends Typed {
        /** How many one list may name: a typo such as 1-999999999 stays harmless. */
        static final int MAX = 1 << 21;

        private final int[] ids;

        IoasidList(Object typed) {
            super(typed);
            this.ids = typed instanceof Reply && ((Reply) typed).value() instanceof int[]
                    ? ((int[]) ((Reply) typed).value()).clone() : null;
        }

        int[] values() {
            if (ids != null) {
                return ids.clone();
            }
            List<Integer> out = new ArrayList<>();
            for (String part : typed.split(",", -1)) {
                int dash = part.indexOf('-', 1);
                long lo = inRange(dash < 0 ? part : part.substring(0, dash), "ID", 0,
                        Integer.MAX_VALUE);
                long hi = dash < 0 ? lo : inRange(part.substring(dash + 1), "ID", 0,
                        Integer.MAX_VALUE);
                if (hi < lo) {
                    throw new IoasidException(Errno.EINVAL, "ID range '" + part
                            + "' ends before it starts");
                }
                if (out.size() + (hi - lo + 1) > MAX) {
                    throw new IoasidException(Errno.E2BIG, "'" + typed + "' names more than "
                            + MAX + " IDs");
                }
                for (long id = lo; id <= hi; id++) {
                    out.add((int) id);
                }
            }
            return out.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    /** A count. */
    public static final class Count extends Typed {
        Count(Object typed) {
            super(typed);
        }

        int value(int min, int max) {
            return (int) inRange(typed, "count", min, max);
        }
    }

    /** A quota: 0 takes all the capacity still available. */
    public static final class Quota extends Typed {
        Quota(Object typed) {
            super(typed);
        }

        int value() {
            return (int) inRange(typed, "quota", 0, Integer.MAX_VALUE);
        }
    }

    /** A set-private ID. */
    public static final class Spid extends Typed {
        Spid(Object typed) {
            super(typed);
        }

        int value() {
            return (int) inRange(typed, "SPID", 0, Integer.MAX_VALUE);
        }
    }

    /** A PASID as a device sends it (0 is DMA without PASID). */
    public static final class Pasid extends Typed {
        Pasid(Object typed) {
            super(typed);
        }

        int value() {
            return (int) inRange(typed, "PASID", 0, Integer.MAX_VALUE);
        }
    }

    /** An I/O virtual address: 64 bits, decimal or 0x hexadecimal. */
    public static final class Iova extends Typed {
        Iova(Object typed) {
            super(typed);
        }

        long value() {
            return unsigned(typed, "IOVA");
        }
    }

    /** A duration in milliseconds. */
    public static final class Millis extends Typed {
        Millis(Object typed) {
            super(typed);
        }

        long value(long max) {
            return inRange(typed, "timeout", 0, max);
        }
    }

    /** An object of the shell's iommufd context, by the ID {@code iommu:objects} lists. */
    public static final class ObjectId extends Typed {
        ObjectId(Object typed) {
            super(typed);
        }

        int value() {
            return (int) inRange(typed, "object ID", 0, Integer.MAX_VALUE);
        }
    }

    /** A length in bytes: 64 bits, decimal or 0x hexadecimal. */
    public static final class Length extends Typed {
        Length(Object typed) {
            super(typed);
        }

        long value() {
            return unsigned(typed, "length");
        }
    }

    /** A physical address: 64 bits, decimal or 0x hexadecimal. */
    public static final class Paddr extends Typed {
        Paddr(Object typed) {
            super(typed);
        }

        long value() {
            return unsigned(typed, "physical address");
        }
    }
}
