package ioasid.core.impl;

import java.util.Hashtable;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import ioasid.api.Ioasid;
import ioasid.api.IoasidService;

/**
 * A second, separate IOASID space standing for a hypervisor host, one per factory configuration:
 * guest vIOMMUs (VT-d virtual commands, virtio-iommu host channels) allocate their PASIDs from it,
 * as a guest's allocations reach the host's system-wide space. It is registered with
 * {@code ioasid.role=host}; the platform's own consumers filter it out. It has no allocator or
 * listener whiteboard of its own: a host is a plain space seen from the guest.
 */
@Component(configurationPid = HostIoasidSpace.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = HostIoasidSpace.Config.class, factory = true)
public final class HostIoasidSpace {
    public static final String PID = "ioasid.host";
    /** Service property of host spaces; the platform's own IOASID service does not carry it. */
    public static final String ROLE = "ioasid.role";
    /** What the VT-d VCMD host reference looks for by default. */
    public static final String VCMD_HOST = "ioasid.vcmd.host";

    @ObjectClassDefinition(name = "IOASID host space",
            description = "A separate IOASID space standing for a hypervisor host; guest vIOMMUs "
                    + "allocate their PASIDs from it")
    public @interface Config {
        @AttributeDefinition(name = "Name", description = "Published as ioasid.host.name")
        String name() default "host";

        @AttributeDefinition(name = "ID bits", min = "1", max = "20")
        int id_bits() default Ioasid.DEFAULT_BITS;
    }

    private final IoasidCore space;
    private final ServiceRegistration<IoasidService> registration;

    @Activate
    public HostIoasidSpace(BundleContext context, Config config) {
        space = new IoasidCore(config.id_bits(), 10_000);
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(ROLE, "host");
        props.put(VCMD_HOST, Boolean.TRUE);
        props.put("ioasid.host.name", config.name());
        registration = context.registerService(IoasidService.class, space, props);
    }

    @Deactivate
    void close() {
        registration.unregister();
        space.close();
    }
}
