package ioasid.core.iommufd;

import ioasid.api.iommufd.IommufdObjectDTO;
import ioasid.api.iommufd.ObjectType;

/*
 * An entry of a context's object table.
 *
 * Rules:
 *  1. Its ID is given once, when it enters the table, and is not handed out again while it is
 *     there or a tombstone (rule 120).
 *  2. users() counts what keeps it from being destroyed: destroying it while users() > 0 is
 *     EBUSY (rule 120).
 */
abstract class IommufdObject {
    private int id;

    int id() {
        return id;
    }

    void id(int value) {
        id = value;
    }

    abstract ObjectType type();

    /** Rule 2: the objects that hold this one. */
    abstract int users();

    /** A snapshot; subclasses fill in their own fields. */
    IommufdObjectDTO dto() {
        IommufdObjectDTO d = new IommufdObjectDTO();
        d.id = id;
        d.type = type().name();
        d.users = users();
        d.pasids = new String[0];
        return d;
    }

    @Override
    public String toString() {
        return type() + " " + id;
    }
}
