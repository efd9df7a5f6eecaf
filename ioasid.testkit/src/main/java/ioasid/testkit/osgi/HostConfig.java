package ioasid.testkit.osgi;

/**
 * A host IOASID space (factory PID {@value #PID}): a separate IOASID service, registered with
 * {@code ioasid.role=host}, standing for a hypervisor host that guest vIOMMUs allocate their
 * PASIDs from. Find it with {@link IoasidPlatform#hostSpace()}.
 */
public final class HostConfig extends FactoryConfig {
    /** The factory PID. */
    public static final String PID = "ioasid.host";

    HostConfig(String name) {
        super(PID, name);
        set("name", name);
    }

    /** The width of its IDs, 1 to 20; default 20. */
    public HostConfig idBits(int bits) {
        return set("id.bits", bits);
    }

    @Override
    public HostConfig set(String key, Object value) {
        super.set(key, value);
        return this;
    }
}
