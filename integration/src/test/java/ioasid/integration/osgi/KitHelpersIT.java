package ioasid.integration.osgi;

import static ioasid.testkit.osgi.Configs.host;
import static ioasid.testkit.osgi.Configs.smmu;
import static ioasid.testkit.osgi.Configs.virtio;
import static ioasid.testkit.osgi.Configs.vtd;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

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
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.Filter;
import org.osgi.framework.ServiceReference;
import org.osgi.service.metatype.AttributeDefinition;
import org.osgi.service.metatype.MetaTypeInformation;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidTopics;
import ioasid.api.TokenType;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.iommu.dto.BackendDTO;
import ioasid.testkit.osgi.FactoryConfig;
import ioasid.testkit.osgi.IoasidEvents;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.osgi.Journal;
import ioasid.testkit.osgi.PlatformBundles;
import ioasid.testkit.osgi.TinyBundles;
import ioasid.testkit.osgi.TopicEvents;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * The test kit's in-framework helpers against the real platform: its configurations match the
 * Metatype definitions they stand for, and its waits, swaps, recorders and test-built bundles do
 * what their Javadoc says.
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class KitHelpersIT {
    @Inject
    BundleContext ctx;

    @Inject
    MetaTypeService metatype;

    private IoasidPlatform platform;

    @Configuration
    public Option[] config() {
        return new Option[] {IoasidOptions.platform(), IoasidOptions.backends()};
    }

    @Before
    public void ready() {
        platform = IoasidPlatform.ready(ctx);
    }

    /** A sample value of the setter's parameter type. */
    private static Object sample(Class<?> type) {
        if (type == int.class) {
            return 1;
        } else if (type == long.class) {
            return 1L;
        } else if (type == boolean.class) {
            return true;
        } else if (type == String.class) {
            return "x";
        } else if (type == String[].class) {
            return new String[] {"x"};
        }
        throw new AssertionError("no sample for " + type);
    }

    /** The Metatype attribute type a Config Admin value stands for. */
    private static String typeOf(Object value) {
        Object v = value instanceof String[] ? "" : value;
        return v instanceof Integer ? "Integer" : v instanceof Long ? "Long"
                : v instanceof Boolean ? "Boolean" : "String";
    }

    private static String typeOf(AttributeDefinition ad) {
        switch (ad.getType()) {
            case AttributeDefinition.INTEGER:
                return "Integer";
            case AttributeDefinition.LONG:
                return "Long";
            case AttributeDefinition.BOOLEAN:
                return "Boolean";
            default:
                return "String";
        }
    }

    /**
     * Every typed setter of the configuration, called with a sample value: the properties it
     * produces are attributes of the definition, of its type and cardinality, and every
     * attribute of the definition has a setter.
     */
    private void assertMatchesMetatype(String bsn, FactoryConfig config) throws Exception {
        for (Method m : config.getClass().getDeclaredMethods()) {
            if (Modifier.isPublic(m.getModifiers()) && m.getParameterCount() == 1
                    && !m.getName().equals("set") && !m.getName().equals("devices")) {
                m.invoke(config, sample(m.getParameterTypes()[0]));
            }
        }
        MetaTypeInformation info = metatype.getMetaTypeInformation(platform.bundle(bsn));
        assertTrue(bsn + " defines " + config.factoryPid(),
                Arrays.asList(info.getFactoryPids()).contains(config.factoryPid()));
        ObjectClassDefinition ocd = info.getObjectClassDefinition(config.factoryPid(), null);
        Map<String, String> defined = new TreeMap<>();
        for (AttributeDefinition ad : ocd.getAttributeDefinitions(ObjectClassDefinition.ALL)) {
            defined.put(ad.getID(), typeOf(ad) + (ad.getCardinality() == 0 ? "" : "[]"));
        }
        Map<String, String> made = new TreeMap<>();
        config.properties().forEach((k, v) -> made.put(k, typeOf(v)
                + (v instanceof String[] ? "[]" : "")));
        assertEquals(config.factoryPid() + ": the setters' properties and types", defined, made);
    }

    @Test
    public void everyTypedConfigurationMatchesItsMetatypeDefinition() throws Exception {
        assertMatchesMetatype("backend.smmuv3", smmu("s", "d"));
        assertMatchesMetatype("backend.vtd", vtd("v", "d"));
        assertMatchesMetatype("backend.virtio", virtio("o", "d"));
        assertMatchesMetatype("ioasid.core", host("h"));
    }

    @Test
    public void thePlatformsOwnSpaceIsNeverAHost() throws Exception {
        platform.configure(host());
        IoasidService hostSpace = platform.hostSpace();
        // a host space ranked above the platform's own one: a look-up without the filter takes it
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("ioasid.role", "host");
        p.put(Constants.SERVICE_RANKING, 100);
        ctx.registerService(IoasidService.class, (IoasidService) Proxy.newProxyInstance(
                IoasidService.class.getClassLoader(), new Class<?>[] {IoasidService.class},
                (self, m, args) -> {
                    throw new UnsupportedOperationException("a host space");
                }), p);
        IoasidService own = IoasidPlatform.ready(ctx).ioasid();
        assertNotSame(hostSpace, own);
        IoasidSet set = own.createSet(TokenType.NONE, "own", 1);
        own.alloc(set, 1, 10, null);
        assertEquals(0, Arrays.stream(hostSpace.sets()).filter(s -> s.token.equals("own"))
                .count());
        Filter ownSpace = ctx.createFilter(IoasidPlatform.OWN_SPACE);
        Filter hosts = ctx.createFilter(IoasidPlatform.HOST_SPACE);
        for (ServiceReference<IoasidService> r : ctx.getServiceReferences(IoasidService.class,
                null)) {
            if (r.getBundle() != null) { // not unregistered since
                assertTrue(r + " " + r.getProperty("ioasid.role"),
                        ownSpace.match(r) != hosts.match(r));
            }
        }
        assertEquals(1, ctx.getServiceReferences(IoasidService.class, IoasidPlatform.OWN_SPACE)
                .size());
    }

    @Test
    public void backendsArriveFailAndLeave() throws Exception {
        org.osgi.service.cm.Configuration c = platform.configure(
                smmu("smmu0", "0000:00:01.0;sid=0x8"));
        assertEquals("ACTIVE", platform.awaitBackend("smmu0").state);
        platform.configure(vtd("dmar9", "0000:00:04.0").pss(99));
        assertEquals("pss=99 is not in [0, 19]", platform.awaitFailed("dmar9").problem);
        c.delete();
        platform.awaitGone("smmu0");
        try {
            platform.backend("smmu0");
            fail("smmu0 is gone");
        } catch (AssertionError expected) {
            assertEquals("no backend smmu0", expected.getMessage());
        }
    }

    @Test
    public void aSwapWaitsForEachBackendToLeaveOnceAndReturnOnce() throws Exception {
        platform.configure(smmu("smmu0", "0000:00:01.0;sid=0x8"));
        platform.configure(smmu("smmu1", "0000:00:02.0;sid=0x9"));
        platform.configure(virtio("viommu0", "ep1;sid=0x1"));
        platform.awaitBackends("smmu0", "smmu1", "viommu0");
        long before = platform.backend("smmu0").serviceId;
        long other = platform.backend("viommu0").serviceId;
        TopicEvents backends = TopicEvents.record(ctx, "ioasid/iommu/backend/*");
        List<BackendDTO> after;
        try (InputStream jar = PlatformBundles.open("backend.smmuv3")) {
            after = platform.swap(platform.bundle("backend.smmuv3"), jar);
        }
        assertEquals(List.of("smmu0", "smmu1"), after.stream().map(b -> b.name).sorted()
                .toList());
        assertTrue(after.stream().allMatch(b -> b.state.equals("ACTIVE")));
        assertNotEquals(before, platform.backend("smmu0").serviceId);
        assertEquals("the other bundle's backend stayed", other,
                platform.backend("viommu0").serviceId);
        List<String> seen = backends.awaitLines("ioasid/iommu/backend/", 4);
        assertEquals(new TreeSet<>(List.of(IoasidTopics.BACKEND_REMOVED,
                IoasidTopics.BACKEND_ADDED)), new TreeSet<>(seen));
        assertEquals(2, seen.stream().filter(IoasidTopics.BACKEND_REMOVED::equals).count());
        backends.close();
    }

    @Test
    public void aBundleWithoutBackendsIsNoSwap() throws Exception {
        try {
            platform.swap(platform.bundle("ioasid.api"));
            fail("swapped a bundle without backends");
        } catch (IllegalStateException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("ioasid.api"));
        }
    }

    @Test
    public void ioasidEventsAreRecordedInTheirOrderAndLateRecordersGetReplays() {
        IoasidEvents events = IoasidEvents.record(ctx);
        IoasidService ioasid = platform.ioasid();
        IoasidSet set = ioasid.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle kept = ioasid.alloc(set, 1, 100, null);
        IoasidHandle h = ioasid.alloc(set, 1, 100, null);
        ioasid.attachSpid(h, 9);
        ioasid.free(h);
        events.assertOrder("ALLOC 1", "ALLOC 2", "BIND 2", "FREE 2", "UNBIND 2");
        events.assertInOrder("ALLOC 2", "UNBIND 2");
        assertEquals(9, events.events().get(2).spid());
        events.close();
        ioasid.alloc(set, 1, 100, null);
        assertEquals("closed: no more lines", 5, events.lines().size());
        IoasidEvents late = IoasidEvents.record(ctx);
        late.assertOrder("ALLOC* " + kept.id(), "ALLOC* 2");
    }

    @Test
    public void eventAdminTopicsAreRecordedInOrder() {
        TopicEvents topics = TopicEvents.record(ctx);
        IoasidService ioasid = platform.ioasid();
        IoasidSet set = ioasid.createSet(TokenType.NONE, "vm", 10);
        ioasid.free(ioasid.alloc(set, 1, 100, null));
        assertEquals(List.of(IoasidTopics.ALLOC, IoasidTopics.FREE),
                topics.awaitLines(IoasidTopics.EVENT, 2));
        assertEquals(1, topics.first(IoasidTopics.ALLOC).getProperty(IoasidTopics.PROP_ID));
    }

    @Test
    public void aTinyAllocatorBundleServesUntilItStops() throws Exception {
        Journal journal = Journal.register(ctx);
        IoasidService ioasid = platform.ioasid();
        Bundle b = ctx.installBundle("test:a", TinyBundles.allocator("a", 10, "space-a"));
        b.start();
        IoasidPlatform.await("the allocator active", () -> Arrays.stream(ioasid.allocators())
                .anyMatch(a -> a.name.equals("a") && a.state.equals(AllocatorDTO.ACTIVE)));
        IoasidSet set = ioasid.createSet(TokenType.NONE, "vm", 10);
        IoasidHandle h = ioasid.alloc(set, 5, 100, null);
        assertEquals(5, h.id());
        ioasid.free(h);
        journal.assertOrder("a:alloc 5", "a:free 5");
        b.stop();
        IoasidPlatform.await("the allocator to leave", () -> ioasid.allocators().length == 0);
        List<String> names = new ArrayList<>();
        Arrays.stream(ioasid.allocators()).forEach(a -> names.add(a.name));
        assertEquals(List.of(), names);
    }
}
