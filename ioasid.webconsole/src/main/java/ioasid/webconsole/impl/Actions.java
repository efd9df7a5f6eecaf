package ioasid.webconsole.impl;

import java.util.Arrays;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.Translation;

/**
 * What the pages' forms do: the same service calls as the shell's {@code ioasid:alloc},
 * {@code ioasid:free} and {@code iommu:probe}, with the same answers and the same typed errors.
 * A form's text that is not a number is EINVAL, named, before anything is called; a multiple
 * allocation that fails part way frees what it took, so a refused form leaves state unchanged.
 */
final class Actions {
    /** The most IDs one form may name or allocate, as a bound on the work of one request. */
    static final int MAX_IDS = 1 << 16;

    private Actions() {
    }

    static String alloc(IoasidService s, String set, String count) {
        int setId = number("set", set, 1, Integer.MAX_VALUE);
        int n = count == null || count.isBlank() ? 1 : number("count", count, 1, MAX_IDS);
        IoasidSet target = s.findSet(setId);
        int max = s.capacity().maxId;
        if (n == 1) {
            IoasidHandle h = s.alloc(target, 1, max, null);
            return "IOASID " + h.id() + " allocated in set " + target.id();
        }
        IoasidHandle[] got = new IoasidHandle[n];
        int done = 0;
        try {
            for (; done < n; done++) {
                got[done] = s.alloc(target, 1, max, null);
            }
        } catch (IoasidException e) {
            for (int i = 0; i < done; i++) {
                s.free(got[i]);
            }
            throw new IoasidException(e.errno(), "allocated " + done + " of " + n
                    + ", freed them again: "
                    + e.getMessage().substring(e.errno().name().length() + 2), e);
        }
        int[] ids = Arrays.stream(got).mapToInt(IoasidHandle::id).sorted().toArray();
        return n + " IOASIDs allocated in set " + target.id() + ": " + ranges(ids);
    }

    static String free(IoasidService s, String list) {
        int[] ids = ids(list);
        IoasidHandle[] handles = new IoasidHandle[ids.length];
        for (int i = 0; i < ids.length; i++) {
            handles[i] = s.find(null, ids[i]); // every one named exists before any is freed
        }
        if (handles.length == 1) {
            s.free(handles[0]);
            return "IOASID " + handles[0].id() + " is " + handles[0].state();
        }
        int pending = 0;
        for (IoasidHandle h : handles) {
            s.free(h);
            pending += h.refCount() > 0 ? 1 : 0;
        }
        return handles.length + " IOASIDs freed" + (pending == 0 ? ""
                : ", " + pending + " of them FREE_PENDING (references left)");
    }

    static String probe(IommuService s, String device, String iova, String pasid,
            String access) {
        if (device == null || device.isBlank()) {
            throw new IoasidException(Errno.EINVAL, "no device named");
        }
        long a = address(iova);
        int p = pasid == null || pasid.isBlank() ? 0
                : number("PASID", pasid, 0, Ioasid.MAX_ID);
        Access acc;
        if ("w".equalsIgnoreCase(access)) {
            acc = Access.WRITE;
        } else if (access == null || access.isBlank() || "r".equalsIgnoreCase(access)) {
            acc = Access.READ;
        } else {
            throw new IoasidException(Errno.EINVAL, "access '" + access + "' is r or w");
        }
        String d = device.strip();
        Translation t = s.translate(d, p, a, acc);
        return d + " pasid " + p + " " + acc + " " + hex(a) + ": " + t;
    }

    /** "7", "1-100", "1,3,5-9": the IDs named, in order, each at most once. */
    static int[] ids(String list) {
        if (list == null || list.isBlank()) {
            throw new IoasidException(Errno.EINVAL, "no IOASID named");
        }
        java.util.TreeSet<Integer> out = new java.util.TreeSet<>();
        for (String part : list.split(",")) {
            String p = part.strip();
            int dash = p.indexOf('-', 1);
            int lo = number("IOASID", dash < 0 ? p : p.substring(0, dash), 1, Ioasid.MAX_ID);
            int hi = dash < 0 ? lo : number("IOASID", p.substring(dash + 1), 1, Ioasid.MAX_ID);
            if (hi < lo) {
                throw new IoasidException(Errno.EINVAL, "range " + p + " runs backwards");
            }
            if (out.size() + (hi - lo + 1) > MAX_IDS) {
                throw new IoasidException(Errno.EINVAL, "more than " + MAX_IDS
                        + " IOASIDs in one form");
            }
            for (int id = lo; id <= hi; id++) {
                out.add(id);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    static int number(String what, String text, int min, int max) {
        String t = text == null ? "" : text.strip();
        try {
            long v = Long.parseLong(t);
            if (v >= min && v <= max) {
                return (int) v;
            }
        } catch (NumberFormatException e) {
            // named below
        }
        throw new IoasidException(Errno.EINVAL, what + " '" + t + "' is not a number in ["
                + min + ", " + max + "]");
    }

    static long address(String text) {
        String t = text == null ? "" : text.strip();
        try {
            long v = t.startsWith("0x") || t.startsWith("0X")
                    ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseLong(t);
            if (v >= 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // named below
        }
        throw new IoasidException(Errno.EINVAL, "IOVA '" + t
                + "' is not an address (decimal or 0x hex)");
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    static String ranges(int[] sorted) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < sorted.length; i++) {
            int j = i;
            while (j + 1 < sorted.length && sorted[j + 1] == sorted[j] + 1) {
                j++;
            }
            sb.append(sb.length() > 0 ? "," : "").append(sorted[i]);
            if (j > i) {
                sb.append('-').append(sorted[j]);
            }
            i = j;
            if (sb.length() > 200 && i + 1 < sorted.length) {
                return sb.append(",...").toString();
            }
        }
        return sb.toString();
    }
}
