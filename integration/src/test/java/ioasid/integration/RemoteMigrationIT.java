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
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import ioasid.integration.RemoteRuntimes.Runtime;

/**
 * Live migration of a guest's set between two host runtimes, as separate JVMs on 127.0.0.1,
 * while the guest keeps allocating through VT-d VCMD: the old host exports the set and freezes
 * the guest (its listener hears of it at once), the new host imports it where another guest
 * already holds the low host IDs, the guest is pointed at the new host by its deploy/ file, and
 * the old host releases the set. Checked afterwards against a model: every PASID the guest was
 * given is held on the new host under the same SPID, none lost, none left on the old host, and
 * every allocation refused meanwhile was one typed line. Then 10,000 IDs move the other way,
 * timed, and the guest is pointed by its own remote:connect (decisions D36, D38).
 */
class RemoteMigrationIT {
    private static final Pattern ALLOCATED = Pattern.compile("^IOASID (\\d+) allocated in set 2$");
    /** The runtime's log lines, which interleave with a command's reply on the console. */
    private static final Pattern LOG_LINE = Pattern.compile("^(INFO|WARNING|ERROR|DEBUG): ");
    private static final Pattern TIMED = Pattern.compile(" in ([0-9.]+) ms");
    private static final Pattern ID_ROW = Pattern.compile("^\\s*(\\d+)\\s+(\\d+)\\s+(IDLE|ACTIVE)"
            + "\\s+\\d+\\s+(\\d+)\\b.*");

    private final List<Runtime> started = new ArrayList<>();

    @AfterEach
    void stopAll() throws Exception {
        RemoteRuntimes.stopAll(started);
    }

    private Runtime runtime(String name, Path dir) throws Exception {
        Runtime r = new Runtime(name, dir, "-Dorg.osgi.service.http.port=" + WebClient.freePort());
        started.add(r);
        return r.start();
    }

    /** One line of a command's reply that contains the text. */
    private static String line(List<String> reply, String text) {
        return reply.stream().filter(l -> l.contains(text)).findFirst()
                .orElseThrow(() -> new AssertionError("no '" + text + "' in " + reply));
    }

    private static double ms(String line) {
        Matcher m = TIMED.matcher(line);
        assertTrue(m.find(), line);
        return Double.parseDouble(m.group(1));
    }

    /** The set a host keeps for a guest, and its host IDs by SPID, from ioasid:ids. */
    private static Map<Integer, Integer> hostIdsBySpid(Runtime host, String guest)
            throws Exception {
        String set = line(host.ask("remote:guests"), guest + " set ").split(" ")[2];
        Map<Integer, Integer> bySpid = new TreeMap<>();
        for (String l : host.ask("ioasid:ids -l 100000 " + set)) {
            Matcher m = ID_ROW.matcher(l);
            if (m.matches()) {
                bySpid.put(Integer.parseInt(m.group(4)), Integer.parseInt(m.group(1)));
            }
        }
        return bySpid;
    }

    private static void pointAt(Runtime guest, String vm, String secret, int port)
            throws Exception {
        Path config = guest.dir.resolve("deploy/ioasid.remote.guest.config");
        Path next = config.resolveSibling("guest.config.next");
        Files.writeString(next, "host=\"127.0.0.1:" + port + "\"\nname=\"" + vm
                + "\"\nsecret=\"" + secret + "\"\n");
        Files.move(next, config, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    @Timeout(240)
    @DisplayName("a guest's set moves to another host while the guest allocates; every SPID stays")
    void aSetMovesBetweenHostsWhileTheGuestAllocates(@TempDir Path root) throws Exception {
        int portA = WebClient.freePort();
        int portB = WebClient.freePort();
        Runtime hostA = runtime("hostA", hostDir(root, "hostA", portA, "guest.quota=I\"20000\""));
        Runtime hostB = runtime("hostB", hostDir(root, "hostB", portB, "guest.quota=I\"20000\""));
        hostA.awaitFrom(0, "ioasid.remote: host serving 2 guests on port " + portA);
        hostB.awaitFrom(0, "ioasid.remote: host serving 2 guests on port " + portB);
        Runtime vm1 = runtime("vm1", guestDir(root, "g1", "vm1", "secret-one", portA, true));
        Runtime vm2 = runtime("vm2", guestDir(root, "g2", "vm2", "secret-two", portB, true));
        for (Runtime g : List.of(vm1, vm2)) {
            g.awaitFrom(0, "VMM of " + g.name + " (host set");
            assertTrue(g.ask("ioasid:mkset t 0").stream().anyMatch(l -> l.contains("set 2 "
                    + "created")));
        }
        // vm2 takes host B's low IDs, where vm1's SPIDs will want to land
        line(vm2.ask("ioasid:alloc -n 6 2"), "6 IOASIDs allocated in set 2");
        line(vm1.ask("ioasid:alloc -n 4 2"), "4 IOASIDs allocated in set 2");
        Set<Integer> before = guestView(vm1).get("held");
        assertEquals(4, before.size());
        assertTrue(line(vm1.ask("remote:status"), "listener").contains("listener tcp://127.0.0.1:"),
                "vm1 gave its listener");

        // vm1 keeps allocating, one PASID at a time, through the whole move
        Set<Integer> given = Collections.synchronizedSet(new TreeSet<>(before));
        List<String> refused = Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean stop = new AtomicBoolean();
        Thread allocating = new Thread(() -> {
            try {
                while (!stop.get()) {
                    for (String l : vm1.ask("ioasid:alloc 2")) {
                        Matcher m = ALLOCATED.matcher(l.strip());
                        if (m.matches()) {
                            given.add(Integer.parseInt(m.group(1)));
                        } else if (!l.isBlank() && !LOG_LINE.matcher(l).find()) {
                            refused.add(l.strip());
                        }
                    }
                }
            } catch (Exception e) {
                refused.add("the allocating thread failed: " + e);
            }
        }, "vm1 allocating");
        allocating.start();
        Thread.sleep(1000);

        Path file = root.resolve("vm1.set");
        int from = vm1.lines();
        String exported = line(hostA.ask("remote:export vm1 " + file), "exported to");
        vm1.awaitFrom(from, "paused, allocations answer EAGAIN");
        String imported = line(hostB.ask("remote:import " + file), "imported from");
        assertTrue(imported.contains("every SPID kept"), imported);
        assertTrue(line(hostA.ask("remote:guests"), "vm1 set").contains(" exported "),
                "host A shows vm1 frozen");
        long switchAt = System.nanoTime();
        pointAt(vm1, "vm1", "secret-one", portB);
        vm1.awaitFrom(from, "moved to host 127.0.0.1:" + portB + ": claimed ");
        long switched = (System.nanoTime() - switchAt) / 1_000_000;
        int afterMove = given.size();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (given.size() < afterMove + 3 && System.nanoTime() < deadline) {
            Thread.sleep(50); // it allocates on host B now
        }
        stop.set(true);
        allocating.join(30_000);
        String released = line(hostA.ask("remote:release vm1"), "released");

        // the model: every PASID vm1 was given is held on host B under the same SPID
        Map<String, Set<Integer>> guest = guestView(vm1);
        assertEquals(given, guest.get("held"), "vm1 holds every PASID it was given");
        assertEquals(Set.of(), guest.get("lost"), "none lost");
        assertEquals(given, hostView(hostB).get("vm1"), "host B holds them, by SPID");
        assertTrue(given.size() >= afterMove + 3, "vm1 allocated on host B: " + given);
        assertEquals(Set.of(), hostView(hostA).getOrDefault("vm1", Set.of()), "none left on A");
        Map<Integer, Integer> onB = hostIdsBySpid(hostB, "vm1");
        assertEquals(given, onB.keySet());
        Set<Integer> vm2Ids = hostIdsBySpid(hostB, "vm2").keySet();
        assertTrue(before.stream().anyMatch(s -> !s.equals(onB.get(s))),
                "some SPID got another host ID on B: " + onB + ", vm2 " + vm2Ids);
        Set<Integer> shared = new TreeSet<>(onB.values());
        shared.retainAll(vm2Ids);
        assertEquals(Set.of(), shared, "no host ID in two guests");
        for (String r : refused) {
            assertTrue(r.matches("E[A-Z]+: .*"), "a typed one-line refusal: " + r);
        }
        assertFalse(refused.stream().anyMatch(r -> r.startsWith("the allocating thread")),
                String.valueOf(refused));
        Map<String, Long> kinds = new TreeMap<>();
        for (String r : refused) {
            kinds.merge(r.replaceAll(" \\(service \\d+, ranking -?\\d+\\)", ""), 1L, Long::sum);
        }
        System.out.printf("migration of vm1 (%d IDs given, %d allocations refused meanwhile: %s):"
                + " %s | %s | %s | guest moved %d ms after its file changed%n", given.size(),
                refused.size(), kinds, exported, imported, released, switched);

        // host B takes two PASIDs back: one by remote:revoke, one freed behind its back; vm1's
        // listener hears of each at once, and vm1 loses exactly those
        List<Integer> spids = new ArrayList<>(given);
        int revoked = spids.get(0);
        int freedOnHost = spids.get(1);
        from = vm1.lines();
        long revokeAt = System.nanoTime();
        line(hostB.ask("remote:revoke vm1 " + revoked), "revoked");
        vm1.awaitFrom(from, "PASIDs lost [" + revoked + "]: host 127.0.0.1:" + portB
                + " revoked them");
        long heard = (System.nanoTime() - revokeAt) / 1_000;
        line(hostB.ask("ioasid:free " + onB.get(freedOnHost)), "freed");
        vm1.awaitFrom(from, "PASIDs lost [" + freedOnHost + "]: host 127.0.0.1:" + portB
                + " revoked them (freed on the host)");
        Map<String, Set<Integer>> afterRevoke = guestView(vm1);
        assertEquals(Set.of(revoked, freedOnHost), afterRevoke.get("lost"));
        Set<Integer> still = new TreeSet<>(given);
        still.removeAll(Set.of(revoked, freedOnHost));
        assertEquals(still, afterRevoke.get("held"));
        assertEquals(still, hostView(hostB).get("vm1"));
        System.out.printf("remote:revoke on host B: vm1 lost the PASID %d us later%n", heard);

        // 10,000 IDs the other way and back (-Dioasid.remote.rounds=N moves), each time with
        // vm2's own 6 PASIDs and 10,000 the old host's operator adds to its set; the guest is
        // pointed by its own console this time (Gogo-scriptable)
        Set<Integer> vm2Own = guestView(vm2).get("held");
        Runtime[] hosts = {hostB, hostA};
        int[] ports = {portB, portA};
        List<Double> exports = new ArrayList<>();
        List<Double> imports = new ArrayList<>();
        for (int round = 0; round < Integer.getInteger("ioasid.remote.rounds", 1); round++) {
            Runtime old = hosts[round % 2];
            Runtime next = hosts[(round + 1) % 2];
            int port = ports[(round + 1) % 2];
            String set = line(old.ask("remote:guests"), "vm2 set ").split(" ")[2];
            line(old.ask("ioasid:alloc -n 10000 " + set), "10000 IOASIDs allocated");
            Path big = root.resolve("vm2-" + round + ".set");
            from = vm2.lines();
            String out = line(old.ask("remote:export vm2 " + big), "exported to");
            String in = line(next.ask("remote:import " + big), "imported from");
            assertTrue(out.contains("with 10006 IDs") && in.contains("with 10006 IDs"), out + in);
            line(vm2.ask("remote:connect 127.0.0.1:" + port), "ioasid.remote.guest.config now "
                    + "names host 127.0.0.1:" + port);
            assertTrue(Files.readString(vm2.dir.resolve("deploy/ioasid.remote.guest.config"))
                    .contains("host=\"127.0.0.1:" + port + "\""), "the file says so for restarts");
            vm2.awaitFrom(from, "moved to host 127.0.0.1:" + port + ": claimed 6, lost 0, "
                    + "released 10000");
            line(old.ask("remote:release vm2"), "released: 10006 IDs");
            assertEquals(vm2Own, hostView(next).get("vm2"), "vm2's own PASIDs moved with it");
            exports.add(ms(out));
            imports.add(ms(in));
        }
        assertTrue(line(vm2.ask("remote:connect nowhere"), "EINVAL").startsWith("EINVAL: host "
                + "\"nowhere\" is not host:port"));
        System.out.printf("migration of 10006 IDs between two host JVMs, %d moves: export %s ms,"
                + " import %s ms (median %.1f / %.1f)%n", exports.size(), exports, imports,
                median(exports), median(imports));
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }
}
