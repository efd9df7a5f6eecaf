package ioasid.testkit.osgi;

/**
 * What every backend's configuration has: the instance name ({@code ioasid.iommu.name}, also the
 * configuration's name) and its devices, one entry each in the form
 * {@code name[;sid=N][;group=KEY][;pasid=BITS]} (numbers decimal or {@code 0x} hex): without
 * {@code sid} a device gets its position in the list, without {@code group} a group of its own,
 * without {@code pasid} no PASID support. A plug-in's backend that follows the same convention
 * is configured with {@link Configs#backend}.
 */
public class BackendConfig extends FactoryConfig {
    /** Property: the instance name, unique on the platform. */
    public static final String NAME = "ioasid.iommu.name";
    /** Property: the device entries. */
    public static final String DEVICES = "devices";

    protected BackendConfig(String factoryPid, String name, String... devices) {
        super(factoryPid, name);
        set(NAME, name);
        devices(devices);
    }

    /** Replaces the device entries. */
    public BackendConfig devices(String... devices) {
        return set(DEVICES, devices.clone());
    }

    @Override
    public BackendConfig set(String key, Object value) {
        super.set(key, value);
        return this;
    }
}
