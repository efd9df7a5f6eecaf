package ioasid.core.iommufd;

import static ioasid.api.Errno.ENOENT;
import static ioasid.core.iommufd.Iova.err;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

import ioasid.api.iommufd.ObjectType;

/*
 * One context's object table, iommufd's xarray with XA_FLAGS_ALLOC1. Guarded by the context's
 * lock.
 *
 * Rules:
 *  1. IDs start at 1; a new object takes the lowest ID neither in use nor a tombstone
 *     (rule 120).
 *  2. An ID that is not in the table, or is a tombstone, is ENOENT; so is an object of another
 *     type when the caller asks for one type (iommufd_get_object, rule 120).
 *  3. A tombstone keeps its ID until the table is closed (rule 129).
 */
final class ObjectTable {
    private final TreeMap<Integer, IommufdObject> objects = new TreeMap<>();
    private final Set<Integer> tombstones = new HashSet<>();

    /** Rule 1. */
    <T extends IommufdObject> T insert(T o) {
        int id = 1;
        while (objects.containsKey(id) || tombstones.contains(id)) {
            id++;
        }
        o.id(id);
        objects.put(id, o);
        return o;
    }

    /** Rule 2: any type. */
    IommufdObject get(int id) {
        IommufdObject o = objects.get(id);
        if (o == null) {
            throw err(ENOENT, tombstones.contains(id) ? "object " + id + " is a tombstone: "
                    + "its device went away" : "no object " + id);
        }
        return o;
    }

    /** Rule 2: of one type. */
    <T extends IommufdObject> T get(int id, ObjectType type, Class<T> cls) {
        IommufdObject o = get(id);
        if (o.type() != type) {
            throw err(ENOENT, "object " + id + " is " + o.type() + ", not " + type);
        }
        return cls.cast(o);
    }

    boolean contains(IommufdObject o) {
        return objects.get(o.id()) == o;
    }

    void remove(IommufdObject o) {
        objects.remove(o.id(), o);
    }

    /** Rule 3: removes the object and keeps its ID from being handed out. */
    void tombstone(IommufdObject o) {
        if (objects.remove(o.id(), o)) {
            tombstones.add(o.id());
        }
    }

    /** The objects, by ID. */
    List<IommufdObject> all() {
        return new ArrayList<>(objects.values());
    }

    boolean isEmpty() {
        return objects.isEmpty();
    }

    /** At close: the table is gone, and its tombstones with it. */
    void clearTombstones() {
        tombstones.clear();
    }
}
