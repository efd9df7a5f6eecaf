package ioasid.integration;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.felix.eventadmin.impl.util.Matchers;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidTopics;

/**
 * The runtime's Event Admin ignores the framework's and the log's events, as cnf/runtime.bnd
 * means it to: those a stopping framework posted were still being delivered when Event Admin
 * stopped, which it reported as "Event Task Processing Interrupted". Checked with Event Admin's
 * own matcher, which reads "a/b*" as a prefix and "a/b/*" as nothing at all.
 */
class EventAdminTopicsTest {
    private static final Pattern IGNORE =
            Pattern.compile("org\\.apache\\.felix\\.eventadmin\\.IgnoreTopic=\"([^\"]*)\"");

    @Test
    @DisplayName("framework and log events are ignored; the platform's own are delivered")
    void ignoredTopics() throws Exception {
        String bnd = Files.readString(DocsTest.findRoot().resolve("cnf/runtime.bnd"));
        Matcher m = IGNORE.matcher(bnd);
        assertTrue(m.find(), "cnf/runtime.bnd sets org.apache.felix.eventadmin.IgnoreTopic");
        Matchers.Matcher[] ignore = Matchers.createEventTopicMatchers(m.group(1).split(","));
        for (String topic : new String[] {"org/osgi/framework/BundleEvent/STOPPED",
            "org/osgi/framework/ServiceEvent/UNREGISTERING", "org/osgi/framework/FrameworkEvent/ERROR",
            "org/osgi/service/log/LogEntry/LOG_WARNING"}) {
            assertTrue(Arrays.stream(ignore).anyMatch(x -> x != null && x.match(topic)), topic);
        }
        for (String topic : new String[] {IoasidTopics.EVENT + "ALLOC", IoasidTopics.ALLOCATOR_SWITCHED,
            "ioasid/runtime/DRAINED"}) {
            assertFalse(Arrays.stream(ignore).anyMatch(x -> x != null && x.match(topic)), topic);
        }
    }
}
