package ioasid.integration.osgi;

import static ioasid.integration.osgi.FrameworkFixture.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Hashtable;
import java.util.List;

import javax.inject.Inject;

import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.ExamFactory;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.ops4j.pax.exam.util.Filter;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventConstants;
import org.osgi.service.event.EventHandler;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidTopics;
import ioasid.api.TokenType;

/** Monitoring through the real Event Admin: IOASID events, allocator and backend changes. */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class EventAdminIT {
    @Inject
    BundleContext ctx;

    @Inject
    ConfigurationAdmin ca;

    @Inject
    @Filter("(!(ioasid.role=host))")
    IoasidService ioasid;

    private final List<Event> events = Collections.synchronizedList(new ArrayList<>());

    @Configuration
    public Option[] config() {
        return new Option[] {Platform.withBackends()};
    }

    @Before
    public void subscribe() {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(EventConstants.EVENT_TOPIC, new String[] {"ioasid/*"});
        ctx.registerService(EventHandler.class, events::add, p);
    }

    private List<String> topics(String prefix) {
        synchronized (events) {
            return events.stream().map(Event::getTopic).filter(t -> t.startsWith(prefix)).toList();
        }
    }

    @Test
    public void everyIoasidEventIsPosted() {
        IoasidSet s = ioasid.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle h = ioasid.alloc(s, 1, 100, null);
        ioasid.attachSpid(h, 9);
        ioasid.free(h);
        await("four events", () -> topics(IoasidTopics.EVENT).size() == 4);
        assertEquals(List.of(IoasidTopics.ALLOC, IoasidTopics.BIND, IoasidTopics.FREE,
                IoasidTopics.UNBIND), topics(IoasidTopics.EVENT));
        Event bind = events.stream().filter(e -> e.getTopic().equals(IoasidTopics.BIND))
                .findFirst().orElseThrow();
        assertEquals(h.id(), bind.getProperty(IoasidTopics.PROP_ID));
        assertEquals(9, bind.getProperty(IoasidTopics.PROP_SPID));
    }

    @Test
    public void backendChangesArePosted() throws Exception {
        org.osgi.service.cm.Configuration c = FrameworkFixture.smmu(ca, "smmu0", "d0;sid=0x1");
        await("ADDED", () -> topics(IoasidTopics.BACKEND_ADDED).size() == 1);
        c.delete();
        await("REMOVED", () -> topics(IoasidTopics.BACKEND_REMOVED).size() == 1);
        Event removed = events.stream().filter(e -> e.getTopic().equals(IoasidTopics.BACKEND_REMOVED))
                .findFirst().orElseThrow();
        assertEquals("smmu0", removed.getProperty("backend"));
        assertEquals(1, removed.getProperty("groups"));
    }

    @Test
    public void allocatorChangesArePosted() throws Exception {
        FrameworkFixture.host(ca);
        FrameworkFixture.hostSpace(ctx);
        org.osgi.service.cm.Configuration c = FrameworkFixture.factory(ca, "ioasid.backend.vtd", "g0",
                "ioasid.iommu.name", "g0", "devices", new String[] {"nic;pasid=20"},
                "caching.mode", Boolean.TRUE, "vcmd", Boolean.TRUE);
        await("ADDED and SWITCHED", () -> topics(IoasidTopics.ALLOCATOR_SWITCHED).size() == 1);
        assertTrue(topics("ioasid/allocator/").contains(IoasidTopics.ALLOCATOR_ADDED));
        c.delete();
        await("REMOVED and back to the default", () ->
                topics(IoasidTopics.ALLOCATOR_SWITCHED).size() == 2);
        assertTrue(topics("ioasid/allocator/").contains(IoasidTopics.ALLOCATOR_REMOVED));
    }
}
