package ioasid.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runtimes in the host and guest roles as separate JVMs, and what their shells show. */
final class RemoteRuntimes {
    static final Pattern HOST_LINE = Pattern.compile(
            "^(vm\\d) set (\\d+|-) (session open|no session|exported) held (\\d+) \\[(.*)\\]$");

    private RemoteRuntimes() {
    }

    /** A runtime with its console. */
    static final class Runtime {
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

    static String sha256(String secret) throws Exception {
        return "{sha-256}" + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256")
                .digest(secret.getBytes(StandardCharsets.UTF_8)));
    }

    /** A host admitting vm1 (secret-one) and vm2 (secret-two), with extra lines if any. */
    static Path hostDir(Path root, String dirName, int port, String... extra) throws Exception {
        Path deploy = Files.createDirectories(root.resolve(dirName + "/deploy"));
        Files.writeString(deploy.resolve("ioasid.remote.host.config"), "port=I\"" + port + "\"\n"
                + "guests=[\"vm1=" + sha256("secret-one") + "\", \"vm2=" + sha256("secret-two")
                + "\"]\n" + String.join("", Arrays.stream(extra).map(l -> l + "\n").toList()));
        return deploy.getParent();
    }

    /** A guest with a VT-d unit using VCMD and a virtio-iommu with a host channel, ranked lower. */
    static Path guestDir(Path root, String dirName, String vm, String secret, int port,
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
    static Map<String, Set<Integer>> hostView(Runtime host) throws Exception {
        Map<String, Set<Integer>> view = new HashMap<>();
        for (String line : host.ask("remote:guests")) {
            Matcher m = HOST_LINE.matcher(line.strip());
            if (m.matches()) {
                view.put(m.group(1), ids(m.group(5)));
                assertEquals(Integer.parseInt(m.group(4)), view.get(m.group(1)).size(), line);
            }
        }
        return view;
    }

    /** A guest's view: "held" and "lost" from remote:status. */
    static Map<String, Set<Integer>> guestView(Runtime guest) throws Exception {
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

    static Set<Integer> ids(String list) {
        Set<Integer> s = new TreeSet<>();
        for (String p : list.split(",")) {
            if (!p.isBlank()) {
                s.add(Integer.parseInt(p.strip()));
            }
        }
        return s;
    }

    /** Stops every runtime, all at once, and checks that none printed a stack trace. */
    static void stopAll(List<Runtime> started) throws Exception {
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

    static void signal(Runtime r, String signal) throws Exception {
        if (r.process != null && r.process.process.isAlive()) {
            new ProcessBuilder("kill", "-" + signal, String.valueOf(r.process.process.pid()))
                    .inheritIO().start().waitFor();
        }
    }

}
