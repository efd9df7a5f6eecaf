package ioasid.backend.virtio.impl;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

import ioasid.api.iommu.spi.DeviceInfo;

/**
 * The parsed, validated configuration of one virtio-iommu instance: the device's configuration
 * space and features, the endpoints behind it, and the guest PASID allocator. Immutable and
 * compared by value; the methods named after a field make changed copies (for tests and for
 * {@code @Modified}).
 */
final class VirtioIommuParams {

    /** How the instance takes part in guest PASID allocation. */
    enum PasidMode {
        /** No allocator service. */
        NONE("none"),
        /** Helpers shared by every instance naming the same channel: one guest ID space. */
        HOST_SHARED("host-shared"),
        /** Helpers of its own: a separate guest ID space, standing by while another is active. */
        HOST_PRIVATE("host-private");

        final String text;

        PasidMode(String text) {
            this.text = text;
        }

        static PasidMode parse(String s) {
            for (PasidMode m : values()) {
                if (m.text.equalsIgnoreCase(s.trim())) {
                    return m;
                }
            }
            throw new IllegalArgumentException("pasid.allocator '" + s
                    + "' is not none, host-shared or host-private");
        }
    }

    final String name;
    final List<String> deviceSpecs;
    final List<DeviceInfo> devices;
    final long pageSizeMask;
    final long inputStart;
    final long inputEnd;
    final long domainStart;
    final long domainEnd;
    final long features;
    final boolean bootBypass;
    final List<ResvRegion> reservedRegions;
    final int probeSize;
    final boolean qemuAttachOrder;
    final PasidMode pasidMode;
    final String pasidChannel;
    final String vmToken;
    final int vmQuota;
    final int allocatorRanking;

    private VirtioIommuParams(String name, List<String> deviceSpecs, long pageSizeMask,
            long inputStart, long inputEnd, long domainStart, long domainEnd, long features,
            boolean bootBypass, List<ResvRegion> reservedRegions, int probeSize,
            boolean qemuAttachOrder, PasidMode pasidMode, String pasidChannel, String vmToken,
            int vmQuota, int allocatorRanking) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("instance name is empty");
        }
        if (Long.compareUnsigned(inputStart, inputEnd) > 0) {
            throw new IllegalArgumentException("input range ends before it starts");
        }
        if (domainStart < 0 || domainEnd > 0xffff_ffffL || domainStart > domainEnd) {
            throw new IllegalArgumentException("domain range [" + domainStart + ", " + domainEnd
                    + "] is not a 32-bit range");
        }
        if (probeSize < 0) {
            throw new IllegalArgumentException("probe size " + probeSize);
        }
        if (vmQuota < 0) {
            throw new IllegalArgumentException("VM set quota " + vmQuota);
        }
        this.name = name;
        this.deviceSpecs = List.copyOf(deviceSpecs);
        this.devices = parseDevices(this.deviceSpecs);
        this.pageSizeMask = pageSizeMask;
        this.inputStart = inputStart;
        this.inputEnd = inputEnd;
        this.domainStart = domainStart;
        this.domainEnd = domainEnd;
        this.features = features;
        this.bootBypass = bootBypass;
        this.reservedRegions = List.copyOf(reservedRegions);
        this.probeSize = probeSize;
        this.qemuAttachOrder = qemuAttachOrder;
        this.pasidMode = Objects.requireNonNull(pasidMode);
        this.pasidChannel = pasidChannel == null || pasidChannel.isBlank() ? "default"
                : pasidChannel.trim();
        this.vmToken = vmToken == null || vmToken.isBlank() ? "vm" : vmToken.trim();
        this.vmQuota = vmQuota;
        this.allocatorRanking = allocatorRanking;
    }

    /** QEMU's defaults with a 48-bit input range, a 4 KiB granule and an x86 MSI window. */
    static VirtioIommuParams defaults(String name) {
        return new VirtioIommuParams(name, List.of(), 0x1000L, 0, (1L << 48) - 1, 0, 0xffff_ffffL,
                Feature.QEMU_DEVICE, false,
                List.of(new ResvRegion(ResvRegion.MSI, 0xfee0_0000L, 0xfeef_ffffL)), 512, false,
                PasidMode.NONE, "default", "vm", 1024, 0);
    }

    static VirtioIommuParams from(VirtioIommuBackend.Config c) {
        long[] input = range(c.input_range(), "input range");
        long[] dom = range(c.domain_range(), "domain range");
        List<ResvRegion> resv = new ArrayList<>();
        for (String r : c.reserved_regions()) {
            if (r != null && !r.isBlank()) {
                resv.add(ResvRegion.parse(r));
            }
        }
        return new VirtioIommuParams(c.ioasid_iommu_name(), nonBlank(c.devices()),
                number(c.page_size_mask(), "page size mask"), input[0], input[1], dom[0],
                dom[1], Feature.parse(c.features()), c.boot_bypass(), resv, c.probe_size(),
                c.qemu_attach_order(), PasidMode.parse(c.pasid_allocator()), c.pasid_channel(),
                c.pasid_vm_token(), c.pasid_vm_quota(), c.pasid_allocator_ranking());
    }

    private static List<String> nonBlank(String[] a) {
        List<String> out = new ArrayList<>();
        for (String s : a) {
            if (s != null && !s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    private static List<DeviceInfo> parseDevices(List<String> specs) {
        List<DeviceInfo> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Set<Long> sids = new HashSet<>();
        for (int i = 0; i < specs.size(); i++) {
            DeviceInfo d = DeviceInfo.parse(specs.get(i), i);
            if (d.streamId() > 0xffff_ffffL) {
                throw new IllegalArgumentException("device " + d.name() + ": endpoint ID "
                        + Request.hex(d.streamId()) + " is not 32-bit");
            }
            if (!names.add(d.name())) {
                throw new IllegalArgumentException("device " + d.name() + " listed twice");
            }
            if (!sids.add(d.streamId())) {
                throw new IllegalArgumentException("device " + d.name() + ": endpoint ID "
                        + Request.hex(d.streamId()) + " used twice");
            }
            out.add(d);
        }
        return List.copyOf(out);
    }

    /** A decimal or 0x-hex unsigned 64-bit number. */
    static long number(String s, String what) {
        String t = s.trim().toLowerCase(Locale.ROOT).replace("_", "");
        try {
            return t.startsWith("0x") ? Long.parseUnsignedLong(t.substring(2), 16)
                    : Long.parseUnsignedLong(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": '" + s + "' is not a number", e);
        }
    }

    /** {@code START-END}, both inclusive. */
    static long[] range(String s, String what) {
        int dash = s.indexOf('-');
        if (dash < 0) {
            throw new IllegalArgumentException(what + " '" + s + "' is not START-END");
        }
        return new long[] {number(s.substring(0, dash), what), number(s.substring(dash + 1), what)};
    }

    // ------------------------------------------------------------------ changed copies

    private VirtioIommuParams copy(List<String> devices, long mask, long inStart, long inEnd,
            long dStart, long dEnd, long feats, boolean bypass, List<ResvRegion> resv, int probe,
            boolean qemu, PasidMode mode, String channel, String token, int quota, int rank) {
        return new VirtioIommuParams(name, devices, mask, inStart, inEnd, dStart, dEnd, feats,
                bypass, resv, probe, qemu, mode, channel, token, quota, rank);
    }

    VirtioIommuParams devices(String... specs) {
        return copy(Arrays.asList(specs), pageSizeMask, inputStart, inputEnd, domainStart,
                domainEnd, features, bootBypass, reservedRegions, probeSize, qemuAttachOrder,
                pasidMode, pasidChannel, vmToken, vmQuota, allocatorRanking);
    }

    VirtioIommuParams pageSizeMask(long mask) {
        return copy(deviceSpecs, mask, inputStart, inputEnd, domainStart, domainEnd, features,
                bootBypass, reservedRegions, probeSize, qemuAttachOrder, pasidMode, pasidChannel,
                vmToken, vmQuota, allocatorRanking);
    }

    VirtioIommuParams inputRange(long start, long end) {
        return copy(deviceSpecs, pageSizeMask, start, end, domainStart, domainEnd, features,
                bootBypass, reservedRegions, probeSize, qemuAttachOrder, pasidMode, pasidChannel,
                vmToken, vmQuota, allocatorRanking);
    }

    VirtioIommuParams domainRange(long start, long end) {
        return copy(deviceSpecs, pageSizeMask, inputStart, inputEnd, start, end, features,
                bootBypass, reservedRegions, probeSize, qemuAttachOrder, pasidMode, pasidChannel,
                vmToken, vmQuota, allocatorRanking);
    }

    VirtioIommuParams features(long mask) {
        return copy(deviceSpecs, pageSizeMask, inputStart, inputEnd, domainStart, domainEnd, mask,
                bootBypass, reservedRegions, probeSize, qemuAttachOrder, pasidMode, pasidChannel,
                vmToken, vmQuota, allocatorRanking);
    }

    VirtioIommuParams bootBypass(boolean bypass) {
        return copy(deviceSpecs, pageSizeMask, inputStart, inputEnd, domainStart, domainEnd,
                features, bypass, reservedRegions, probeSize, qemuAttachOrder, pasidMode,
                pasidChannel, vmToken, vmQuota, allocatorRanking);
    }

    VirtioIommuParams reservedRegions(ResvRegion... regions) {
        return copy(deviceSpecs, pageSizeMask, inputStart, inputEnd, domainStart, domainEnd,
                features, bootBypass, Arrays.asList(regions), probeSize, qemuAttachOrder,
                pasidMode, pasidChannel, vmToken, vmQuota, allocatorRanking);
    }

    VirtioIommuParams probeSize(int size) {
        return copy(deviceSpecs, pageSizeMask, inputStart, inputEnd, domainStart, domainEnd,
                features, bootBypass, reservedRegions, size, qemuAttachOrder, pasidMode,
                pasidChannel, vmToken, vmQuota, allocatorRanking);
    }

    VirtioIommuParams qemuAttachOrder(boolean qemu) {
        return copy(deviceSpecs, pageSizeMask, inputStart, inputEnd, domainStart, domainEnd,
                features, bootBypass, reservedRegions, probeSize, qemu, pasidMode, pasidChannel,
                vmToken, vmQuota, allocatorRanking);
    }

    VirtioIommuParams pasid(PasidMode mode, String channel, String token, int quota) {
        return copy(deviceSpecs, pageSizeMask, inputStart, inputEnd, domainStart, domainEnd,
                features, bootBypass, reservedRegions, probeSize, qemuAttachOrder, mode, channel,
                token, quota, allocatorRanking);
    }

    VirtioIommuParams allocatorRanking(int ranking) {
        return copy(deviceSpecs, pageSizeMask, inputStart, inputEnd, domainStart, domainEnd,
                features, bootBypass, reservedRegions, probeSize, qemuAttachOrder, pasidMode,
                pasidChannel, vmToken, vmQuota, ranking);
    }

    /** Whether everything but the device list is the same: what @Modified can apply live. */
    boolean sameHardware(VirtioIommuParams o) {
        return name.equals(o.name) && pageSizeMask == o.pageSizeMask
                && inputStart == o.inputStart && inputEnd == o.inputEnd
                && domainStart == o.domainStart && domainEnd == o.domainEnd
                && features == o.features && bootBypass == o.bootBypass
                && reservedRegions.equals(o.reservedRegions) && probeSize == o.probeSize
                && qemuAttachOrder == o.qemuAttachOrder && pasidMode == o.pasidMode
                && pasidChannel.equals(o.pasidChannel) && vmToken.equals(o.vmToken)
                && vmQuota == o.vmQuota && allocatorRanking == o.allocatorRanking;
    }

    /** Equal when every field is: the device list and everything {@link #sameHardware} compares. */
    @Override
    public boolean equals(Object o) {
        return o instanceof VirtioIommuParams p && deviceSpecs.equals(p.deviceSpecs)
                && sameHardware(p);
    }

    @Override
    public int hashCode() {
        int h = name.hashCode();
        h = 31 * h + deviceSpecs.hashCode();
        h = 31 * h + Long.hashCode(pageSizeMask);
        h = 31 * h + Long.hashCode(inputStart);
        h = 31 * h + Long.hashCode(inputEnd);
        h = 31 * h + Long.hashCode(domainStart);
        h = 31 * h + Long.hashCode(domainEnd);
        h = 31 * h + Long.hashCode(features);
        h = 31 * h + Boolean.hashCode(bootBypass);
        h = 31 * h + reservedRegions.hashCode();
        h = 31 * h + probeSize;
        h = 31 * h + Boolean.hashCode(qemuAttachOrder);
        h = 31 * h + pasidMode.ordinal();
        h = 31 * h + pasidChannel.hashCode();
        h = 31 * h + vmToken.hashCode();
        h = 31 * h + vmQuota;
        return 31 * h + allocatorRanking;
    }

    @Override
    public String toString() {
        return name + " [page mask " + Request.hex(pageSizeMask) + ", input ["
                + Request.hex(inputStart) + "," + Request.hex(inputEnd) + "], domains ["
                + domainStart + "," + domainEnd + "], features " + Feature.names(features)
                + (bootBypass ? ", boot bypass" : "") + ", resv " + reservedRegions
                + ", probe size " + probeSize + ", pasid " + pasidMode.text + "]";
    }
}
