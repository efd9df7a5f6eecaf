package ioasid.core.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidTopics;
import ioasid.api.TokenType;
import ioasid.api.iommu.DomainType;
import ioasid.core.impl.IoasidFixture.SpaceAllocator;
import ioasid.core.impl.IoasidFixture.SpaceAllocator.Helpers;
import ioasid.core.iommu.IommuCore;

/** Monitoring through Event Admin: IOASID events and allocator and backend changes. */
class EventAdminTest {
    private final List<Event> posted = Collections.synchronizedList(new ArrayList<>());
    private final EventAdmin recorder = new EventAdmin() {
        @Override
        public void postEvent(Event event) {
            posted.add(event);
        }

        @Override
        public void sendEvent(Event event) {
            posted.add(event);
        }
    };

    private List<String> topics() {
        synchronized (posted) {
            return posted.stream().map(Event::getTopic).toList();
        }
    }

    @Test
    @DisplayName("every IOASID event is posted on its topic, after a replay of what existed")
    void ioasidEvents() {
        IoasidFixture fx = new IoasidFixture();
        IoasidSet s = fx.core.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle before = fx.core.alloc(s, 1, 10, null);
        fx.core.bindEventAdmin(recorder);
        IoasidHandle h = fx.core.alloc(s, 1, 10, null);
        fx.core.attachSpid(h, 7);
        fx.core.free(h);
        assertEquals(List.of(IoasidTopics.ALLOC, IoasidTopics.ALLOC, IoasidTopics.BIND,
                IoasidTopics.FREE, IoasidTopics.UNBIND), topics());
        Event replay = posted.get(0);
        assertEquals(before.id(), replay.getProperty(IoasidTopics.PROP_ID));
        assertEquals(true, replay.getProperty(IoasidTopics.PROP_REPLAY));
        assertEquals(7, posted.get(2).getProperty(IoasidTopics.PROP_SPID));
        assertEquals(s.id(), posted.get(2).getProperty(IoasidTopics.PROP_SET));
        fx.core.unbindEventAdmin(recorder);
        fx.core.alloc(s, 1, 10, null);
        assertEquals(5, posted.size(), "nothing after Event Admin left");
    }

    @Test
    @DisplayName("allocator changes are posted: added, switched, ranking, rejected, removed, "
            + "stand-in, revoked")
    void allocatorChanges() {
        IoasidFixture fx = new IoasidFixture();
        fx.core.bindEventAdmin(recorder);
        IoasidSet s = fx.core.createSet(TokenType.NONE, "vm", 10);
        SpaceAllocator a = new SpaceAllocator(new Helpers("hostA", 50), "a");
        long sa = fx.register(a);
        fx.rerank(a, sa, 3);
        fx.core.get(fx.core.alloc(s, 1, 100, null));
        long dup = fx.register(a); // the same object again: rejected
        fx.unregister(a, sa); // the refused duplicate stands in: nothing revoked
        fx.unregister(a, dup); // the group's last member: its ID is revoked
        posted.removeIf(e -> e.getTopic().startsWith(IoasidTopics.EVENT));
        assertEquals(List.of(IoasidTopics.ALLOCATOR_ADDED, IoasidTopics.ALLOCATOR_SWITCHED,
                IoasidTopics.ALLOCATOR_RANKING, IoasidTopics.ALLOCATOR_REJECTED,
                IoasidTopics.ALLOCATOR_REMOVED, IoasidTopics.ALLOCATOR_ADDED,
                IoasidTopics.ALLOCATOR_REMOVED, IoasidTopics.ALLOCATOR_REVOKED,
                IoasidTopics.ALLOCATOR_SWITCHED), topics());
        assertEquals("default", posted.get(1).getProperty("from"));
        assertEquals("hostA", posted.get(1).getProperty("to"));
        assertEquals(dup, posted.get(5).getProperty("service.id"));
        assertEquals(1, posted.get(7).getProperty("count"));
        assertEquals("default", posted.get(8).getProperty("to"));
    }

    @Test
    @DisplayName("IOMMU backends coming, changing and going are posted")
    void backendChanges() {
        IoasidCore space = new IoasidCore(20, 10_000);
        IommuCore iommu = new IommuCore(space, DomainType.DMA_FQ, 64);
        iommu.bindEventAdmin(recorder);
        var be = new ioasid.core.iommu.TestBackendAccess().backend("smmu0", "a");
        Map<String, Object> props = new java.util.HashMap<>(Map.of(Constants.SERVICE_ID, 7L,
                ioasid.api.iommu.spi.IommuBackend.NAME, "smmu0"));
        iommu.bindBackend(be, props);
        iommu.updatedBackend(be, props);
        iommu.unbindBackend(be, props);
        assertEquals(List.of(IoasidTopics.BACKEND_ADDED, IoasidTopics.BACKEND_MODIFIED,
                IoasidTopics.BACKEND_REMOVED), topics());
        assertEquals("smmu0", posted.get(0).getProperty("backend"));
        assertTrue(List.of((String[]) posted.get(0).getProperty("devices")).contains("a"));
        assertEquals(1, posted.get(2).getProperty("groups"));
    }
}
