package ioasid.bench.scale;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.osgi.framework.Constants;

import ioasid.api.IoasidHandle;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;
import ioasid.backend.smmuv3.impl.Smmuv3Backend;
import ioasid.backend.virtio.impl.VirtioIommuBackend;
import ioasid.backend.vtd.impl.VtdBackend;
import ioasid.core.impl.IoasidCore;
import ioasid.core.iommu.IommuCore;
import ioasid.testkit.ComponentConfig;

/**
 * Many IOMMU instances in one IOMMU core, outside a framework: each instance is a backend
 * component built from its factory configuration's properties and bound to the core as DS
 * would bind its service. Instance {@code i} is an SMMUv3, a VT-d unit or a virtio-iommu by
 * {@code i % 3}; the first two take PASIDs, which are attached to one paging domain per
 * instance, spread over its devices. An ordered listener (last in the chain) counts BIND and
 * UNBIND.
 */
public final class Fleet implements AutoCloseable {
    private static final String[] VENDORS = {"smmuv3", "vtd", "virtio"};

    /** One instance and what is attached through it. */
    public static final class Instance {
        final int index;
        final String name;
        final String vendor;
        final IommuBackend backend;
        final Map<String, Object> props;
        final List<String> devices;
        IommuDomain domain;
        /** Attached PASIDs with their device; guarded by this instance. */
        final Map<IoasidHandle, String> attached = new HashMap<>();

        Instance(int index, String name, String vendor, IommuBackend backend,
                Map<String, Object> props, List<String> devices) {
            this.index = index;
            this.name = name;
            this.vendor = vendor;
            this.backend = backend;
            this.props = props;
            this.devices = devices;
        }

        public boolean takesPasids() {
            return !vendor.equals("virtio");
        }

        public String name() {
            return name;
        }

        public int attachedCount() {
            synchronized (this) {
                return attached.size();
            }
        }
    }

    /** Counts BIND and UNBIND, and the UNBINDs of the IDs being watched. */
    static final class Counter implements IoasidListener {
        final AtomicLong binds = new AtomicLong();
        final AtomicLong unbinds = new AtomicLong();
        final Set<Integer> watched = ConcurrentHashMap.newKeySet();
        final AtomicLong watchedUnbinds = new AtomicLong();

        @Override
        public void onEvent(IoasidEvent event) {
            if (event.type() == EventType.BIND) {
                binds.incrementAndGet();
            } else if (event.type() == EventType.UNBIND) {
                unbinds.incrementAndGet();
                if (watched.remove(event.id())) {
                    watchedUnbinds.incrementAndGet();
                }
            }
        }
    }

    final IoasidCore ioasid;
    final IommuCore iommu;
    final Counter counter = new Counter();
    private final int devicesPer;
    private long nextServiceId = 1000;

    public Fleet(int devicesPerInstance, int pasidQuota) {
        if (devicesPerInstance < 1 || devicesPerInstance > 32) {
            throw new IllegalArgumentException("devices per instance not in [1, 32]");
        }
        this.devicesPer = devicesPerInstance;
        ioasid = new IoasidCore(20, 60_000);
        iommu = new IommuCore(ioasid, DomainType.DMA, pasidQuota);
        Map<String, Object> lp = new HashMap<>();
        lp.put(Constants.SERVICE_ID, 100L);
        lp.put(Constants.SERVICE_RANKING, IoasidListener.PRIORITY_IOMMU);
        lp.put(IoasidListener.EVENTS, "FREE");
        ioasid.bindListener(iommu, lp);
        Map<String, Object> cp = new HashMap<>();
        cp.put(Constants.SERVICE_ID, 101L);
        cp.put(Constants.SERVICE_RANKING, IoasidListener.PRIORITY_LAST);
        cp.put(IoasidListener.EVENTS, new String[] {"BIND", "UNBIND"});
        ioasid.bindListener(counter, cp);
    }

    public IommuCore iommu() {
        return iommu;
    }

    /**
     * Builds instance {@code index} from its configuration properties, as SCR would activate
     * its component; not yet bound.
     */
    public Instance create(int index) {
        String vendor = VENDORS[index % 3];
        List<String> devices = new ArrayList<>();
        List<String> specs = new ArrayList<>();
        Map<String, Object> config = new HashMap<>();
        IommuBackend backend;
        String name;
        switch (vendor) {
            case "smmuv3" -> {
                name = String.format(Locale.ROOT, "smmu%d", index);
                for (int d = 0; d < devicesPer; d++) {
                    String dev = String.format(Locale.ROOT, "s%d.%d", index, d);
                    devices.add(dev);
                    specs.add(dev + ";sid=0x" + Integer.toHexString((d + 1) * 8) + ";pasid=20");
                }
                config.put("ssid_bits", 20);
                config.put("ioasid_iommu_name", name);
                config.put("devices", specs.toArray(new String[0]));
                backend = new Smmuv3Backend(ComponentConfig.of(Smmuv3Backend.Config.class, config));
            }
            case "vtd" -> {
                name = String.format(Locale.ROOT, "dmar%d", index);
                for (int d = 0; d < devicesPer; d++) {
                    // the PCI segment keeps every unit's device names apart
                    String dev = String.format(Locale.ROOT, "%04x:01:%02x.0", index & 0xffff, d);
                    devices.add(dev);
                    specs.add(dev + ";pasid=20");
                }
                config.put("ioasid_iommu_name", name);
                config.put("devices", specs.toArray(new String[0]));
                backend = new VtdBackend(null, ComponentConfig.of(VtdBackend.Config.class, config),
                        null);
            }
            default -> {
                name = String.format(Locale.ROOT, "viommu%d", index);
                for (int d = 0; d < devicesPer; d++) {
                    String dev = String.format(Locale.ROOT, "v%d.ep%d", index, d);
                    devices.add(dev);
                    specs.add(dev + ";sid=0x" + Integer.toHexString(d + 1));
                }
                config.put("ioasid_iommu_name", name);
                config.put("devices", specs.toArray(new String[0]));
                backend = new VirtioIommuBackend(
                        ComponentConfig.of(VirtioIommuBackend.Config.class, config), null);
            }
        }
        Map<String, Object> props = new HashMap<>();
        synchronized (this) {
            props.put(Constants.SERVICE_ID, nextServiceId++);
        }
        props.put(IommuBackend.NAME, name);
        props.put(IommuBackend.VENDOR, vendor);
        return new Instance(index, name, vendor, backend, props, List.copyOf(devices));
    }

    /** Binds the instance's service to the core: its devices are probed and served. */
    public void bind(Instance in) {
        iommu.bindBackend(in.backend, in.props);
    }

    /** Unbinds the instance's service: the core tears down what it had (D17). */
    public void unbind(Instance in) {
        iommu.unbindBackend(in.backend, in.props);
    }

    /**
     * Attaches {@code count} new global PASIDs to the instance's paging domain, round-robin
     * over its devices.
     */
    public void attach(Instance in, int count) {
        if (!in.takesPasids()) {
            throw new IllegalArgumentException(in.name + " takes no PASIDs");
        }
        synchronized (in) {
            if (in.domain == null) {
                in.domain = iommu.domainAlloc(in.devices.get(0), false);
            }
            int start = in.attached.size();
            for (int i = 0; i < count; i++) {
                String dev = in.devices.get((start + i) % in.devices.size());
                IoasidHandle h = iommu.allocGlobalPasid(dev);
                iommu.attachDevicePasid(in.domain, dev, h);
                in.attached.put(h, dev);
            }
        }
    }

    /** One attach and detach of a fresh PASID on one device of a serving instance. */
    public void churn(Instance in, int device) {
        String dev = in.devices.get(device % in.devices.size());
        IommuDomain dom;
        synchronized (in) {
            dom = in.domain;
        }
        IoasidHandle h = iommu.allocGlobalPasid(dev);
        try {
            iommu.attachDevicePasid(dom, dev, h);
            iommu.detachDevicePasid(dom, dev, h);
        } finally {
            iommu.freeGlobalPasid(h);
        }
    }

    /** Watches the UNBINDs of the instance's attached PASIDs; returns how many are watched. */
    public int watch(Instance in) {
        synchronized (in) {
            for (IoasidHandle h : in.attached.keySet()) {
                counter.watched.add(h.id());
            }
            return in.attached.size();
        }
    }

    public long watchedUnbinds() {
        return counter.watchedUnbinds.get();
    }

    public long binds() {
        return counter.binds.get();
    }

    public long unbinds() {
        return counter.unbinds.get();
    }

    /** Frees the global PASIDs of an instance that left (their attachments went with it). */
    public void release(Instance in) {
        synchronized (in) {
            for (IoasidHandle h : in.attached.keySet()) {
                iommu.freeGlobalPasid(h);
            }
            in.attached.clear();
            in.domain = null;
        }
    }

    /** PASIDs attached in the core, counted from its snapshot. */
    public int attachedInCore() {
        return iommu.pasids().length;
    }

    @Override
    public void close() {
        iommu.close();
        ioasid.close();
    }
}
