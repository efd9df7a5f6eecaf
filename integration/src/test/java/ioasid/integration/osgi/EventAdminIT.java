package ioasid.integration.osgi;

import static ioasid.testkit.osgi.IoasidPlatform.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

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

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidTopics;
import ioasid.api.TokenType;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.osgi.TopicEvents;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

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
    @Filter(IoasidPlatform.OWN_SPACE)
    IoasidService ioasid;

    private TopicEvents events;

    @Configuration
    public Option[] config() {
        return new Option[] {IoasidOptions.platform(), IoasidOptions.backends()};
    }

    @Before
    public void subscribe() {
        events = TopicEvents.record(ctx, "ioasid/*");
    }

    private List<String> topics(String prefix) {
        return events.lines(prefix);
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
        Event bind = events.first(IoasidTopics.BIND);
        assertEquals(h.id(), bind.getProperty(IoasidTopics.PROP_ID));
        assertEquals(9, bind.getProperty(IoasidTopics.PROP_SPID));
    }

    @Test
    public void backendChangesArePosted() throws Exception {
        org.osgi.service.cm.Configuration c = Configs.smmu("smmu0", "d0;sid=0x1").create(ca);
        await("ADDED", () -> topics(IoasidTopics.BACKEND_ADDED).size() == 1);
        c.delete();
        await("REMOVED", () -> topics(IoasidTopics.BACKEND_REMOVED).size() == 1);
        Event removed = events.first(IoasidTopics.BACKEND_REMOVED);
        assertEquals("smmu0", removed.getProperty("backend"));
        assertEquals(1, removed.getProperty("groups"));
    }

    @Test
    public void allocatorChangesArePosted() throws Exception {
        Configs.host().create(ca);
        IoasidPlatform.hostSpace(ctx);
        org.osgi.service.cm.Configuration c = Configs.vtd("g0", "nic;pasid=20").cachingMode(true)
                .vcmd(true).create(ca);
        await("ADDED and SWITCHED", () -> topics(IoasidTopics.ALLOCATOR_SWITCHED).size() == 1);
        assertTrue(topics("ioasid/allocator/").contains(IoasidTopics.ALLOCATOR_ADDED));
        c.delete();
        await("REMOVED and back to the default", () ->
                topics(IoasidTopics.ALLOCATOR_SWITCHED).size() == 2);
        assertTrue(topics("ioasid/allocator/").contains(IoasidTopics.ALLOCATOR_REMOVED));
    }
}
