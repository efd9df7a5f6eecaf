package ioasid.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The owner of a platform-owned IOASID set (decision D19): a component of the platform that
 * creates a set for its own use, such as the IOMMU core's set of global PASIDs. The object is the
 * owner's key: {@link IoasidService#freeSet(IoasidSet, SetOwner)} frees the set only when given
 * this very object (compared by identity), so a component keeps its owner to itself. The label
 * is what operators see ({@link ioasid.api.dto.SetDTO#owner}); two owners may share a label.
 */
@ProviderType
public final class SetOwner {
    private final String label;

    /**
     * @param label a name for operators, such as {@code iommu-core}
     * @throws IoasidException EINVAL for a null or empty label, or one with white space or
     *     control characters (it is shown in a table column)
     */
    public SetOwner(String label) {
        if (label == null || label.isEmpty()) {
            throw new IoasidException(Errno.EINVAL, "a set owner needs a label");
        }
        for (int i = 0; i < label.length(); i++) {
            char c = label.charAt(i);
            if (Character.isWhitespace(c) || Character.isISOControl(c)) {
                throw new IoasidException(Errno.EINVAL, "set owner label '" + label
                        + "' has white space or control characters");
            }
        }
        this.label = label;
    }

    /** The name operators see for the owner. */
    public String label() {
        return label;
    }

    @Override
    public String toString() {
        return label;
    }
}
