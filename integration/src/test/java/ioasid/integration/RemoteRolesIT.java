package ioasid.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host runtime and two guest runtimes as separate JVMs on 127.0.0.1, over Remote Services:
 * both guests allocate through VT-d VCMD and through virtio-iommu, the host's shell shows each
 * guest's set, a guest with a wrong secret is refused, the host stops and starts, is killed and
 * comes back with no memory; after each step what the guests hold is checked against the host
 * (no ID live in two guests, every loss reported).
 */
class RemoteRolesIT {
    private static final Pattern HOST_LINE = Pattern.compile(
            "^(vm\\d) set \\d+ (session open|no session) held (\\d+) \\[(.*)\\]$");

    /** A runtime with its console. */
    private static final class Runtime {
        final String name;
        final Path dir;
        final String[] options;
        RuntimeProcess process;
        Writer shell;
        int asked;

        Runtime(String name, Path dir, String... options) {
            this.name = name;
            this.dir = dir;
            this.options = options;
        }

        Runtime start() throws IOException {
            process = RuntimeProcess.start(dir, options);
            shell = new OutputStreamWriter(process.process.getOutputStream(),
                    StandardCharsets.UTF_8);
            return this;
        }

        void send(String command) throws IOException {
            shell.write(command + "\n");
            shell.flush();
        }

        /** Sends a command and returns the lines it printed (until an echoed marker). */
        List<String> ask(String command) throws Exception {
            String marker = "mark-" + name + "-" + (++asked);
            int from = process.out.size();
            send(command);
            send("echo " + marker);
            int end = awaitFrom(from, marker);
            synchronized (process.out) {
                return new ArrayList<>(process.out.subList(from, end));
            }
        }

        /** Waits for a line containing the text, printed at or after index from; its index. */
        int awaitFrom(int from, String text) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                synchronized (process.out) {
                    for (int i = from; i < process.out.size(); i++) {
                        if (process.out.get(i).contains(text)) {
                            return i;
                        }
                    }
                }
                Thread.sleep(10);
            }
            throw new AssertionError(name + ": no line with '" + text + "' in " + process.out);
        }

        int lines() {
            return process.out.size();
        }

        void stop() throws Exception {
            if (process != null && process.process.isAlive()) {
                send("stop 0");
                if (!process.process.waitFor(30, TimeUnit.SECONDS)) {
                    process.process.destroyForcibly();
                }
            }
        }
    }

    private final List<Runtime> started = new ArrayList<>();

    @AfterEach
    void stopAll() throws Exception {
        for (Runtime r : started) { // all at once: each takes a moment to stop
            if (r.process != null && r.process.process.isAlive()) {
                signal(r, "CONT");
                r.send("stop 0");
            }
        }
        for (Runtime r : started) {
            if (r.process != null) {
                r.stop();
                r.process.awaitOutput(10_000);
                assertEquals(0, r.process.out.stream().filter(l -> l.startsWith("\tat "))
                        .count(), r.name + " printed a stack trace: " + r.process.out);
            }
        }
    }

    private Runtime runtime(String name, Path dir) {
        Runtime r = new Runtime(name, dir, "-Dorg.osgi.service.http.port=" + WebClient.freePort());
        started.add(r);
        return r;
    }

    static String sha256(String secret) throws Exception {
        return "{sha-256}" + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256")
                .digest(secret.getBytes(StandardCharsets.UTF_8)));
    }

    private static Path hostDir(Path root, int port) throws Exception {
        Path deploy = Files.createDirectories(root.resolve("host/deploy"));
        Files.writeString(deploy.resolve("ioasid.remote.host.config"), "port=I\"" + port + "\"\n"
                + "guests=[\"vm1=" + sha256("secret-one") + "\", \"vm2=" + sha256("secret-two")
                + "\"]\n");
        return deploy.getParent();
    }

    /** A guest with a VT-d unit using VCMD and a virtio-iommu with a host channel, ranked lower. */
    private static Path guestDir(Path root, String dirName, String vm, String secret, int port,
            boolean backends) throws Exception {
        Path deploy = Files.createDirectories(root.resolve(dirName + "/deploy"));
        Files.writeString(deploy.resolve("ioasid.remote.guest.config"), "host=\"127.0.0.1:" + port
                + "\"\nname=\"" + vm + "\"\nsecret=\"" + secret + "\"\n");
        if (backends) {
            Files.writeString(deploy.resolve("ioasid.backend.vtd-dmar0.config"),
                    "ioasid.iommu.name=\"dmar0\"\ndevices=[\"0000:01:00.0;pasid=20\"]\n"
                    + "pss=I\"19\"\ncaching.mode=B\"true\"\nvcmd=B\"true\"\nvcmd.vm=\"" + vm + "\"\n");
            Files.writeString(deploy.resolve("ioasid.backend.virtio-viommu0.config"),
                    "ioasid.iommu.name=\"viommu0\"\ndevices=[\"ep1;sid=0x1\"]\n"
                    + "pasid.allocator=\"host-shared\"\nhost.target=\"(ioasid.role=host)\"\n"
                    + "pasid.vm.token=\"" + vm + "\"\npasid.allocator.ranking=I\"-5\"\n");
            Path bundles = Path.of(System.getProperty("ioasid.bundles"));
            for (String jar : List.of("backend.vtd.jar", "backend.virtio.jar")) {
                Files.copy(bundles.resolve(jar), deploy.resolve(jar));
            }
        }
        return deploy.getParent();
    }

    /** The host's view: guest name to the SPIDs it holds. */
    private static Map<String, Set<Integer>> hostView(Runtime host) throws Exception {
        Map<String, Set<Integer>> view = new HashMap<>();
        for (String line : host.ask("remote:guests")) {
            Matcher m = HOST_LINE.matcher(line.strip());
            if (m.matches()) {
                view.put(m.group(1), ids(m.group(4)));
                assertEquals(Integer.parseInt(m.group(3)), view.get(m.group(1)).size(), line);
            }
        }
        return view;
    }

    /** A guest's view: "held" and "lost" from remote:status. */
    private static Map<String, Set<Integer>> guestView(Runtime guest) throws Exception {
        Map<String, Set<Integer>> view = new HashMap<>();
        for (String line : guest.ask("remote:status")) {
            for (String key : List.of("held", "lost")) {
                if (line.startsWith(key + ": [")) {
                    view.put(key, ids(line.substring(key.length() + 3, line.length() - 1)));
                }
            }
        }
        return view;
    }

    private static Set<Integer> ids(String list) {
        Set<Integer> s = new TreeSet<>();
        for (String p : list.split(",")) {
            if (!p.isBlank()) {
                s.add(Integer.parseInt(p.strip()));
            }
        }
        return s;
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

    private static void signal(Runtime r, String signal) throws Exception {
        if (r.process != null && r.process.process.isAlive()) {
            new ProcessBuilder("kill", "-" + signal, String.valueOf(r.process.process.pid()))
                    .inheritIO().start().waitFor();
        }
    }

    @Test
    @Timeout(180)
    @DisplayName("a host and two guests: VCMD and virtio allocations, a wrong secret refused, "
            + "host stop/start and kill -9, checked against the host after each step")
    void hostAndTwoGuests(@TempDir Path root) throws Exception {
        int port = WebClient.freePort();
        Runtime host = runtime("host", hostDir(root, port)).start();
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
        signal(g1, "STOP");
        host = runtime("host", host.dir).start();
        g2.awaitFrom(from[1], "reconnected to a restarted host: claimed 2, lost 0");
        String reply = String.join("\n", g2.ask("ioasid:alloc -n 8 2"));
        assertTrue(reply.contains("8 IOASIDs allocated in set 2"), reply);
        signal(g1, "CONT");
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
