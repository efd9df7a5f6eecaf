package ioasid.metrics.impl;

import java.util.Hashtable;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.servlet.whiteboard.HttpWhiteboardConstants;

import io.prometheus.metrics.exporter.servlet.jakarta.PrometheusMetricsServlet;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import ioasid.api.IoasidService;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.spi.IommuBackend;
import jakarta.servlet.Servlet;

/**
 * Serves the platform's metrics in the Prometheus text format at {@code /metrics}, in the
 * Servlet Whiteboard context {@code ioasid}, which asks for the platform's credentials and
 * allows GET and HEAD alone. The registry is this bundle's own, not Prometheus' default one, so
 * nothing else in the framework adds to it.
 */
@Component(immediate = true)
public final class MetricsEndpoint {
    static final String PATH = "/metrics";
    /** The context of ioasid.http, selected by name. */
    static final String CONTEXT = "(" + HttpWhiteboardConstants.HTTP_WHITEBOARD_CONTEXT_NAME
            + "=ioasid)";

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            target = "(!(ioasid.role=host))")
    volatile IoasidService ioasid;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    volatile IommuService iommu;

    final HotSwaps swaps = new HotSwaps();
    private final ServiceRegistration<Servlet> registration;

    @Activate
    public MetricsEndpoint(BundleContext context) {
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(collector());
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(HttpWhiteboardConstants.HTTP_WHITEBOARD_SERVLET_PATTERN, PATH);
        p.put(HttpWhiteboardConstants.HTTP_WHITEBOARD_SERVLET_NAME, "ioasid-metrics");
        p.put(HttpWhiteboardConstants.HTTP_WHITEBOARD_CONTEXT_SELECT, CONTEXT);
        registration = context.registerService(Servlet.class,
                new PrometheusMetricsServlet(registry), p);
    }

    PlatformCollector collector() {
        return new PlatformCollector(() -> ioasid, () -> iommu, swaps);
    }

    @Deactivate
    void deactivate() {
        registration.unregister();
    }

    // Backends are bound by reference only: the service objects are never taken.
    @Reference(service = IommuBackend.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC)
    void bindBackend(ServiceReference<IommuBackend> ref) {
        swaps.arrived(name(ref));
    }

    void unbindBackend(ServiceReference<IommuBackend> ref) {
        swaps.departed(name(ref));
    }

    private static String name(ServiceReference<?> ref) {
        Object n = ref.getProperty(IommuBackend.NAME);
        return n != null ? n.toString() : "service-" + ref.getProperty("service.id");
    }
}
