package ioasid.testkit.osgi;

/**
 * One virtio-iommu instance of {@code backend.virtio} (factory PID {@value #PID}): its guest
 * driver and device model. Each setter names one attribute of the backend's Metatype definition;
 * unset ones keep their defaults. Device entries name endpoints; {@code sid} is the endpoint ID.
 */
public final class VirtioConfig extends BackendConfig {
    /** The factory PID. */
    public static final String PID = "ioasid.backend.virtio";
    /** {@link #pasidAllocator}: no guest PASID allocator (the default). */
    public static final String ALLOCATOR_NONE = "none";
    /** {@link #pasidAllocator}: allocate from the host, one ID space per channel. */
    public static final String ALLOCATOR_HOST_SHARED = "host-shared";
    /** {@link #pasidAllocator}: allocate from the host, an ID space of this instance's own. */
    public static final String ALLOCATOR_HOST_PRIVATE = "host-private";

    VirtioConfig(String name, String... devices) {
        super(PID, name, devices);
    }

    /** config.page_size_mask, e.g. {@code "0x1000"} or {@code "0x40201000"}; default 0x1000. */
    public VirtioConfig pageSizeMask(String mask) {
        return set("page.size.mask", mask);
    }

    /** config.input_range {@code START-END}; default {@code 0x0-0xffffffffffff}. */
    public VirtioConfig inputRange(String range) {
        return set("input.range", range);
    }

    /** config.domain_range {@code START-END}; default {@code 0x0-0xffffffff}. */
    public VirtioConfig domainRange(String range) {
        return set("domain.range", range);
    }

    /**
     * The offered feature bits: INPUT_RANGE, DOMAIN_RANGE, MAP_UNMAP, BYPASS, PROBE, MMIO,
     * BYPASS_CONFIG; by default all but BYPASS.
     */
    public VirtioConfig features(String... features) {
        return set("features", features.clone());
    }

    /** The initial config.bypass: unattached endpoints pass through; default false. */
    public VirtioConfig bootBypass(boolean on) {
        return set("boot.bypass", on);
    }

    /**
     * Reserved regions, {@code msi:START-END} (passes through) or {@code reserved:START-END}
     * (faults); default {@code msi:0xfee00000-0xfeefffff}.
     */
    public VirtioConfig reservedRegions(String... regions) {
        return set("reserved.regions", regions.clone());
    }

    /** config.probe_size in bytes; default 512. */
    public VirtioConfig probeSize(int bytes) {
        return set("probe.size", bytes);
    }

    /** Reproduce QEMU's ATTACH that detaches before checking the bypass flag; default false. */
    public VirtioConfig qemuAttachOrder(boolean on) {
        return set("qemu.attach.order", on);
    }

    /**
     * The guest PASID allocator: {@value #ALLOCATOR_NONE}, {@value #ALLOCATOR_HOST_SHARED} or
     * {@value #ALLOCATOR_HOST_PRIVATE}.
     */
    public VirtioConfig pasidAllocator(String kind) {
        return set("pasid.allocator", kind);
    }

    /** The host channel; instances naming the same one share a guest ID space; "default". */
    public VirtioConfig pasidChannel(String channel) {
        return set("pasid.channel", channel);
    }

    /** The token of the VM's set on the host; default "vm". */
    public VirtioConfig pasidVmToken(String token) {
        return set("pasid.vm.token", token);
    }

    /** The quota of the VM's set when it must be created on the host; default 1024. */
    public VirtioConfig pasidVmQuota(int quota) {
        return set("pasid.vm.quota", quota);
    }

    /** The {@code service.ranking} of the allocator service; default 0. */
    public VirtioConfig pasidAllocatorRanking(int ranking) {
        return set("pasid.allocator.ranking", ranking);
    }

    /**
     * The filter of the host IOASID service the allocator reaches, e.g.
     * {@value IoasidPlatform#HOST_SPACE}; by default a remote one.
     */
    public VirtioConfig hostTarget(String filter) {
        return set("host.target", filter);
    }

    @Override
    public VirtioConfig devices(String... devices) {
        super.devices(devices);
        return this;
    }

    @Override
    public VirtioConfig set(String key, Object value) {
        super.set(key, value);
        return this;
    }
}
