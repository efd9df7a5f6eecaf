package ioasid.testkit.osgi;

/**
 * Typed factory configurations of the platform's backends and host spaces, with the property
 * names of their Metatype definitions, ready to {@link FactoryConfig#create create} through
 * Config Admin or to pass to {@link IoasidPlatform#configure}:
 *
 * <pre>{@code
 * platform.configure(smmu("smmu0", "0000:00:01.0;sid=0x8;pasid=16"));
 * platform.configure(vtd("dmar-g0", "nic;pasid=20").cachingMode(true).vcmd(true));
 * platform.configure(host());
 * }</pre>
 */
public final class Configs {
    private Configs() {
    }

    /** An SMMUv3 instance named {@code name} with these device entries. */
    public static SmmuConfig smmu(String name, String... devices) {
        return new SmmuConfig(name, devices);
    }

    /** A VT-d unit named {@code name} with these device entries. */
    public static VtdConfig vtd(String name, String... devices) {
        return new VtdConfig(name, devices);
    }

    /** A virtio-iommu instance named {@code name} with these endpoint entries. */
    public static VirtioConfig virtio(String name, String... devices) {
        return new VirtioConfig(name, devices);
    }

    /** The host IOASID space named "host". */
    public static HostConfig host() {
        return host("host");
    }

    /** A host IOASID space with this name ({@code ioasid.host.name}). */
    public static HostConfig host(String name) {
        return new HostConfig(name);
    }

    /**
     * An instance of any backend whose configuration names it in {@code ioasid.iommu.name} and
     * lists its devices in {@code devices}, as the platform's backends do: a plug-in's own.
     */
    public static BackendConfig backend(String factoryPid, String name, String... devices) {
        return new BackendConfig(factoryPid, name, devices);
    }

    /** Any factory configuration, its properties set one by one: a plug-in's own, say. */
    public static FactoryConfig factory(String factoryPid, String name) {
        return new FactoryConfig(factoryPid, name);
    }
}
