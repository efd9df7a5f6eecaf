package ioasid.integration;

import static ioasid.integration.RemoteRuntimes.guestDir;
import static ioasid.integration.RemoteRuntimes.guestView;
import static ioasid.integration.RemoteRuntimes.hostDir;
import static ioasid.integration.RemoteRuntimes.hostView;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import ioasid.integration.RemoteRuntimes.Runtime;

/**
 * A host runtime and two guest runtimes as separate JVMs on 127.0.0.1, over Remote Services:
 * both guests allocate through VT-d VCMD and through virtio-iommu, the host's shell shows each
 * guest's set, a guest with a wrong secret is refused, the host stops and starts, is killed and
 * comes back with no memory; after each step what the guests hold is checked against the host
 * (no ID live in two guests, every loss reported).
 */
class RemoteRolesIT {
    private final List<Runtime> started = new ArrayList<>();

    @AfterEach
    void stopAll() throws Exception {
        RemoteRuntimes.stopAll(started);
    }

    private Runtime runtime(String name, Path dir) {
        Runtime r = new Runtime(name, dir, "-Dorg.osgi.service.http.port=" + WebClient.freePort());
        started.add(r);
        return r;
    }

    /**
     * What each guest holds is what the host holds for it, and no ID is in two guests, at any
     * time. A guest forgets an ID before its free reaches the host, so the two may disagree for
     * the few milliseconds a free is on the wire (a unit that leaves frees its PASIDs one by
     * one): agreement is awaited, disjointness never.
     */
    private static Map<String, Set<Integer>> checkModel(Runtime host, Runtime g1, Runtime g2)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            Map<String, Set<Integer>> onHost = hostView(host);
            Map<String, Set<Integer>> v1 = guestView(g1);
            Map<String, Set<Integer>> v2 = guestView(g2);
            Set<Integer> both = new HashSet<>(onHost.get("vm1"));
            both.retainAll(onHost.get("vm2"));
            assertTrue(both.isEmpty(), "IDs live in two guests: " + both);
            if (System.nanoTime() > deadline || v1.get("held").equals(onHost.get("vm1"))
                    && v2.get("held").equals(onHost.get("vm2"))) {
                assertEquals(v1.get("held"), onHost.get("vm1"), "vm1: guest and host agree");
                assertEquals(v2.get("held"), onHost.get("vm2"), "vm2: guest and host agree");
                return Map.of("vm1", v1.get("held"), "vm2", v2.get("held"), "lost1",
                        v1.get("lost"), "lost2", v2.get("lost"));
            }
            Thread.sleep(100);
        }
    }

    @Test
    @Timeout(180)
    @DisplayName("a host and two guests: VCMD and virtio allocations, a wrong secret refused, "
            + "host stop/start and kill -9, checked against the host after each step")
    void hostAndTwoGuests(@TempDir Path root) throws Exception {
        int port = WebClient.freePort();
        Runtime host = runtime("host", hostDir(root, "host", port)).start();
        host.awaitFrom(0, "ioasid.remote: host serving 2 guests on port " + port);
        Runtime g1 = runtime("vm1", guestDir(root, "g1", "vm1", "secret-one", port, true)).start();
        Runtime g2 = runtime("vm2", guestDir(root, "g2", "vm2", "secret-two", port, true)).start();
        // vm1's name with vm2's secret: refused all along, and vm1 is left alone
        Runtime bad = runtime("bad", guestDir(root, "bad", "vm1", "secret-two", port, false))
                .start();
        for (Runtime g : List.of(g1, g2)) {
            try {
                g.awaitFrom(0, "VMM of " + g.name + " (host set");
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\nremote:status: "
                        + g.ask("remote:status") + "\nhost: " + host.process.out, e);
            }
        }

        // VCMD: the VT-d unit's allocator is the guest's active one
        for (Runtime g : List.of(g1, g2)) {
            assertTrue(g.ask("ioasid:mkset t 100").contains("set 2 created (NONE t, quota 100)"));
            String reply = String.join("\n", g.ask("ioasid:alloc -n 3 2"));
            assertTrue(reply.contains("3 IOASIDs allocated in set 2"), reply);
        }
        Map<String, Set<Integer>> model = checkModel(host, g1, g2);
        assertEquals(3, model.get("vm1").size());
        assertEquals(3, model.get("vm2").size());
        String sets = String.join("\n", host.ask("ioasid:sets"));
        assertTrue(sets.matches("(?s).*guest:vm1 +ioasid.remote +4096 +3 .*"), sets);
        assertTrue(sets.matches("(?s).*guest:vm2 +ioasid.remote +4096 +3 .*"), sets);

        // virtio: the VT-d unit goes (its PASIDs go back to the host), the host channel takes over
        for (Runtime g : List.of(g1, g2)) {
            int from = g.lines();
            Files.delete(g.dir.resolve("deploy/ioasid.backend.vtd-dmar0.config"));
            g.awaitFrom(from, "to virtio-iommu host channel");
            String reply = String.join("\n", g.ask("ioasid:alloc -n 2 2"));
            assertTrue(reply.contains("2 IOASIDs allocated in set 2"), reply);
        }
        model = checkModel(host, g1, g2);
        assertEquals(2, model.get("vm1").size(), "the VCMD PASIDs went back: " + model);
        assertEquals(2, model.get("vm2").size());
        System.out.println("latency: " + g1.ask("remote:latency 20"));

        // the guest with a wrong secret, retrying all along, was refused and changed nothing
        bad.awaitFrom(0, "refused the session: EPERM: access denied");
        String refused = String.join("\n", bad.ask("remote:status"));
        assertTrue(refused.contains("not connected") && refused.contains("held: []"), refused);
        bad.send("stop 0");
        assertEquals(model, checkModel(host, g1, g2), "nothing changed");
        assertTrue(String.join("\n", g1.ask("remote:status")).contains("departures 0"),
                "vm1's session was never ended by the impostor");

        // the host stops and starts (a new epoch, an empty space): every guest takes its IDs back
        int[] from = {g1.lines(), g2.lines()};
        long stop = System.nanoTime();
        host.stop();
        g1.awaitFrom(from[0], "went away");
        long noticed = System.nanoTime() - stop;
        host = runtime("host", host.dir).start();
        long start = System.nanoTime();
        for (Runtime g : List.of(g1, g2)) {
            g.awaitFrom(0, "reconnected to a restarted host: claimed 2, lost 0, released 0");
        }
        long reconciled = System.nanoTime() - start;
        assertEquals(model, checkModel(host, g1, g2), "all claimed back");
        System.out.printf("host stop: noticed by vm1 after %d ms; host start to both guests "
                + "reconciled %d ms%n", noticed / 1_000_000, reconciled / 1_000_000);

        // kill -9; vm1 sleeps while the host returns and vm2 takes what vm1 held
        from = new int[] {g1.lines(), g2.lines()};
        long kill = System.nanoTime();
        host.process.process.destroyForcibly();
        g1.awaitFrom(from[0], "went away");
        noticed = System.nanoTime() - kill;
        g2.awaitFrom(from[1], "went away");
        RemoteRuntimes.signal(g1, "STOP");
        host = runtime("host", host.dir).start();
        g2.awaitFrom(from[1], "reconnected to a restarted host: claimed 2, lost 0");
        String reply = String.join("\n", g2.ask("ioasid:alloc -n 8 2"));
        assertTrue(reply.contains("8 IOASIDs allocated in set 2"), reply);
        RemoteRuntimes.signal(g1, "CONT");
        g1.awaitFrom(from[0], "PASIDs lost [");
        Map<String, Set<Integer>> after = checkModel(host, g1, g2);
        Set<Integer> lost = after.get("lost1");
        assertEquals(model.get("vm1"), union(after.get("vm1"), lost), "held or lost: " + after);
        assertFalse(lost.isEmpty(), "vm2 took vm1's IDs first: " + after);
        assertTrue(after.get("vm2").containsAll(lost), "each lost ID is vm2's now: " + after);
        String status = String.join("\n", g1.ask("remote:status"));
        assertTrue(status.contains("lost at last reconcile: "), status);
        System.out.printf("host kill -9: noticed by vm1 after %d ms%n", noticed / 1_000_000);

        // a guest stops: the host keeps its IDs; it starts with no memory: they are released
        Set<Integer> vm2 = after.get("vm2");
        g2.stop();
        Map<String, Set<Integer>> onHost = hostView(host);
        assertEquals(vm2, onHost.get("vm2"), "kept for the guest's next session");
        assertTrue(host.ask("remote:guests").stream().anyMatch(l -> l.startsWith("vm2 set")
                && l.contains("no session")), "a stopping guest ends its session");
        g2 = runtime("vm2", g2.dir).start();
        g2.awaitFrom(0, "ioasid.remote: guest vm2: connected: claimed 0, lost 0, released "
                + vm2.size());
        assertEquals(Set.of(), hostView(host).get("vm2"));
        assertEquals(after.get("vm1"), hostView(host).get("vm1"), "vm1 left alone");
    }

    private static Set<Integer> union(Set<Integer> a, Set<Integer> b) {
        Set<Integer> u = new TreeSet<>(a);
        u.addAll(b);
        return u;
    }
}
