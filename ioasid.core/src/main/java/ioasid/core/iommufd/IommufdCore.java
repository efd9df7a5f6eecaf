package ioasid.core.iommufd;

import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.core.iommufd.Iova.err;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

import ioasid.api.iommu.IommuService;
import ioasid.api.iommufd.Iommufd;
import ioasid.api.iommufd.IommufdService;

/*
 * The iommufd layer as a DS component: it opens contexts over the IommuService, and nothing
 * else; it uses no class of the IOMMU core's package, so it offers what the in-kernel API
 * offers and no more.
 *
 * Rules:
 *  1. Each context is an object table of its own (rule 120); contexts share nothing but the
 *     IommuService, and each has its own lock (see Context).
 *  2. When the component stops, every context still open is closed, which unbinds its devices
 *     and frees its domains (rule 120); open() afterwards is ENODEV.
 */
@Component(service = IommufdService.class)
public final class IommufdCore implements IommufdService {
    private final IommuService iommu;
    private final Set<Context> open = ConcurrentHashMap.newKeySet();
    private volatile boolean stopped;

    @Activate
    public IommufdCore(@Reference IommuService iommu) {
        if (iommu == null) {
            throw err(EINVAL, "the iommufd layer needs an IOMMU service");
        }
        this.iommu = iommu;
    }

    @Override
    public Iommufd open(String label) {
        if (label == null || label.isBlank()) {
            throw err(EINVAL, "an iommufd context needs a label");
        }
        if (stopped) {
            throw err(ENODEV, "the iommufd service has stopped");
        }
        Context c = new Context(this, iommu, label);
        open.add(c);
        if (stopped) { // stopped meanwhile: close() may have missed it
            c.close();
            throw err(ENODEV, "the iommufd service has stopped");
        }
        return c;
    }

    /** Rule 2. */
    @Deactivate
    public void close() {
        stopped = true;
        for (Context c : List.copyOf(open)) {
            c.close();
        }
    }

    void closed(Context c) {
        open.remove(c);
    }
}
