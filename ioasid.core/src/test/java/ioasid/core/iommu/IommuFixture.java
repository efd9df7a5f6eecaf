package ioasid.core.iommu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.function.Executable;
import org.osgi.framework.Constants;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuGroup;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;
import ioasid.core.impl.IoasidCore;

/** An IOASID core and an IOMMU core wired as SCR would, with backends bound by hand. */
final class IommuFixture {
    private static final AtomicLong SERVICE_IDS = new AtomicLong(5000);

    final IoasidCore ioasid = new IoasidCore(20, 10_000);
    final IommuCore iommu;
    final Map<IommuBackend, Map<String, Object>> bound = new HashMap<>();
    /** Every IOASID event, as "TYPE id". */
    final List<String> events = Collections.synchronizedList(new ArrayList<>());

    IommuFixture() {
        this(DomainType.DMA_FQ);
    }

    IommuFixture(DomainType platformDefault) {
        iommu = new IommuCore(ioasid, platformDefault, 4096);
        Map<String, Object> lp = new HashMap<>();
        lp.put(Constants.SERVICE_ID, SERVICE_IDS.incrementAndGet());
        lp.put(Constants.SERVICE_RANKING, IoasidListener.PRIORITY_IOMMU);
        lp.put(IoasidListener.EVENTS, "FREE");
        ioasid.bindListener(iommu, lp);
        Map<String, Object> rp = new HashMap<>();
        rp.put(Constants.SERVICE_ID, SERVICE_IDS.incrementAndGet());
        rp.put(Constants.SERVICE_RANKING, IoasidListener.PRIORITY_LAST);
        ioasid.bindListener((IoasidEvent e) -> events.add(e.type() + " " + e.id()), rp);
    }

    TestBackend bind(TestBackend be) {
        Map<String, Object> p = new HashMap<>();
        p.put(Constants.SERVICE_ID, SERVICE_IDS.incrementAndGet());
        p.put(IommuBackend.NAME, be.name);
        bound.put(be, p);
        iommu.bindBackend(be, p);
        return be;
    }

    void unbind(TestBackend be) {
        iommu.unbindBackend(be, bound.remove(be));
    }

    void update(TestBackend be) {
        iommu.updatedBackend(be, bound.get(be));
    }

    /** Everything observable of the IOMMU core, to check a failed call changed nothing. */
    /** The group as the IOMMU core lists it now. */
    GroupDTO dto(IommuGroup g) {
        for (GroupDTO d : iommu.groups()) {
            if (d.id == g.id()) {
                return d;
            }
        }
        throw new AssertionError("no group " + g);
    }

    String state() {
        return Arrays.toString(iommu.groups()) + Arrays.toString(iommu.domains())
                + Arrays.toString(iommu.pasids()) + Arrays.toString(iommu.viommus())
                + Arrays.toString(iommu.devices());
    }

    IoasidException unchanged(Errno errno, Executable call) {
        String before = state();
        IoasidException e = assertThrows(IoasidException.class, call);
        assertEquals(errno, e.errno(), e.getMessage());
        assertEquals(before, state(), "state changed by a failed call: " + e.getMessage());
        return e;
    }

    Translation probe(String device, int pasid, long iova) {
        return iommu.translate(device, pasid, iova, Access.READ);
    }
}
