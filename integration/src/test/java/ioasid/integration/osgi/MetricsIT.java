package ioasid.integration.osgi;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.File;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Hashtable;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.Prot;
import ioasid.api.spi.IoasidAllocator;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.osgi.PlatformBundles;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * The platform's HTTP endpoints in a real framework, served by Felix HTTP Jetty 12 on a free
 * loopback port: the {@code ioasid} context's credentials (401 without them, and without the
 * configuration at all), read-only endpoints, the metrics moving with allocations, frees, an
 * allocator switch, map/unmap, a fault and a backend stopped and started, the escaping of label
 * values, and nothing listening on any address but the loopback one.
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class MetricsIT {
    static final String PORT = "ioasid.it.http.port";
    static final String PASSWORD = "correct horse";

    @Inject
    BundleContext ctx;

    @Inject
    ConfigurationAdmin ca;

    IoasidPlatform platform;
    final HttpClient http = client();

    @Configuration
    public Option[] config() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        List<Option> options = new ArrayList<>(List.of(IoasidOptions.platform(),
                IoasidOptions.backends(), IoasidOptions.health(), IoasidOptions.metrics(),
                // bound to the loopback address before any configuration arrives. Felix HTTP
                // Jetty reads its host from org.apache.felix.http.host alone: with only
                // org.osgi.service.http.host it listens on every address (this suite saw [::])
                frameworkProperty("org.osgi.service.http.host").value("127.0.0.1"),
                frameworkProperty("org.apache.felix.http.host").value("127.0.0.1"),
                frameworkProperty("org.osgi.service.http.port").value(Integer.toString(port)),
                systemProperty(PORT).value(Integer.toString(port)),
                systemProperty(PlatformBundles.DIRECTORY).value(
                        System.getProperty(PlatformBundles.DIRECTORY))));
        return options.toArray(new Option[0]);
    }

    /**
     * The HTTP server, installed once the framework runs: it needs SLF4J 2, and Pax Exam's own
     * SLF4J 1.7 binding, resolved together with it, would wire itself to the newer API.
     */
    static final String[] SERVER = {"commons-io", "commons-fileupload", "asm", "asm-tree",
        "asm-analysis", "asm-commons", "asm-util", "org.apache.aries.spifly.dynamic.bundle",
        "slf4j-api-2", "slf4j-jdk14-2", "org.apache.felix.http.jetty12"};

    @Before
    public void setUp() throws Exception {
        List<Bundle> server = new ArrayList<>();
        for (String artifact : SERVER) {
            server.add(ctx.installBundle(new File(System.getProperty(PlatformBundles.DIRECTORY),
                    artifact + ".jar").toURI().toString()));
        }
        for (Bundle b : server) {
            if (b.getHeaders().get(Constants.FRAGMENT_HOST) == null) {
                b.start();
            }
        }
        platform = IoasidPlatform.ready(ctx);
        platform.configure(Configs.smmu("smmu0", "0000:00:01.0;sid=0x8;pasid=16"),
                Configs.vtd("dmar0", "0000:01:00.0;pasid=20"));
        platform.awaitBackends("smmu0", "dmar0");
    }

    static String hash(String password) throws Exception {
        return "{sha-256}" + Base64.getEncoder().encodeToString(MessageDigest
                .getInstance("SHA-256").digest(password.getBytes(StandardCharsets.UTF_8)));
    }

    void credentials(String username, String password) throws Exception {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("username", username);
        p.put("password", hash(password));
        ca.getConfiguration("ioasid.http", "?").update(p);
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password)
                .getBytes(StandardCharsets.UTF_8));
    }

    static URI uri(String path) {
        return URI.create("http://127.0.0.1:" + System.getProperty(PORT) + path);
    }

    HttpResponse<String> get(String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return send(b.build());
    }

    HttpResponse<String> post(String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString("x"));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return send(b.build());
    }

    /**
     * Sends the request, again on a new connection when the one it went out on broke (CI saw an
     * EOF both on a pooled connection the server had closed and on the retry through the same
     * pool); none of these requests changes anything, so sending one twice is harmless.
     */
    private HttpResponse<String> send(HttpRequest request) throws Exception {
        IOException broken = null;
        for (int attempt = 0; attempt < 4; attempt++) {
            HttpClient client = attempt == 0 ? http : client();
            try {
                return client.send(request, HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                System.err.println(request.method() + " " + request.uri() + " broke (" + e
                        + "), sending it again");
                if (broken == null) {
                    broken = e;
                } else {
                    broken.addSuppressed(e);
                }
                Thread.sleep(100L * attempt);
            }
        }
        throw broken;
    }

    /** Plain HTTP/1.1: the default client asks every new connection for an h2c upgrade. */
    static HttpClient client() {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    /** Waits until the path answers with the status (the whiteboard registers asynchronously). */
    HttpResponse<String> awaitStatus(String path, String authorization, int status) {
        List<HttpResponse<String>> last = new ArrayList<>(List.of());
        IoasidPlatform.await(path + " answering " + status, () -> {
            try {
                HttpResponse<String> r = get(path, authorization);
                last.clear();
                last.add(r);
                return r.statusCode() == status;
            } catch (Exception e) {
                return false;
            }
        });
        return last.get(0);
    }

    String metrics() {
        return awaitStatus("/metrics", basic("admin", PASSWORD), 200).body();
    }

    /** The value of one sample line, by its name and labels as written; -1 when absent. */
    static double value(String text, String sample) {
        Matcher m = Pattern.compile("^" + Pattern.quote(sample) + " (\\S+)$", Pattern.MULTILINE)
                .matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    @Test
    public void withoutConfigurationEveryRequestIsRefusedThenCredentialsAreNeeded()
            throws Exception {
        // the servlets are there, the context refuses: no configuration means no access
        awaitStatus("/metrics", basic("admin", PASSWORD), 401);
        HttpResponse<String> health = get("/system/health", basic("admin", PASSWORD));
        assertEquals(401, health.statusCode());
        credentials("admin", PASSWORD);
        awaitStatus("/metrics", basic("admin", PASSWORD), 200);
        for (String bad : new String[] {null, basic("admin", "wrong"), basic("root", PASSWORD),
            "Basic", "Bearer x"}) {
            HttpResponse<String> r = get("/metrics", bad);
            assertEquals(bad, 401, r.statusCode());
            assertEquals("Basic realm=\"ioasid\", charset=\"UTF-8\"",
                    r.headers().firstValue("WWW-Authenticate").orElse(null));
            assertEquals(401, get("/system/health", bad).statusCode());
        }
        HttpResponse<String> ok = get("/metrics", basic("admin", PASSWORD));
        assertTrue(ok.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        assertEquals("nosniff", ok.headers().firstValue("X-Content-Type-Options").orElse(null));
        assertEquals(405, post("/metrics", basic("admin", PASSWORD)).statusCode());
        assertEquals(401, post("/metrics", null).statusCode());
        ca.getConfiguration("ioasid.http", "?").delete();
        awaitStatus("/metrics", basic("admin", PASSWORD), 401);
    }

    @Test
    public void theHealthEndpointIsReadOnlyJsonAndHtml() throws Exception {
        credentials("admin", PASSWORD);
        HttpResponse<String> json = awaitStatus("/system/health.json", basic("admin", PASSWORD), 200);
        assertTrue(json.body(), json.body().contains("\"overallResult\""));
        assertTrue(json.body(), json.body().contains("IOMMU faults"));
        assertTrue(json.headers().firstValue("Access-Control-Allow-Origin").isEmpty());
        HttpResponse<String> html = get("/system/health", basic("admin", PASSWORD));
        assertEquals(200, html.statusCode());
        assertTrue(html.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertTrue(html.body().contains("IOMMU instances"));
        assertEquals(405, post("/system/health", basic("admin", PASSWORD)).statusCode());
        assertEquals(401, get("/system/health.json", null).statusCode());
        // request parameters do not reconfigure it: CRITICAL is not turned into 200 and back
        HttpResponse<String> forced = get("/system/health.json?httpStatus=OK:503",
                basic("admin", PASSWORD));
        assertEquals(forced.body(), 200, forced.statusCode());
    }

    /** An allocator of the IDs from 100 up, in its own ID space. */
    static final class Allocator implements IoasidAllocator {
        int next = 100;

        @Override
        public synchronized int alloc(int min, int max) {
            return Math.max(min, next++);
        }

        @Override
        public void free(int id) {
        }

        @Override
        public Object helpers() {
            return "vm-helpers";
        }
    }

    @Test
    public void countersMoveWithAllocationsFreesSwitchesMapsFaultsAndHotSwaps() throws Exception {
        credentials("admin", PASSWORD);
        String before = metrics();
        IoasidService ioasid = platform.ioasid();
        IoasidSet set = ioasid.createSet(TokenType.NONE, "vm1", 10);
        List<IoasidHandle> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(ioasid.alloc(set, 1, 1000, null));
        }
        ioasid.free(ids.remove(0));
        String after = metrics();
        assertEquals(value(before, "ioasid_allocations_total") + 3,
                value(after, "ioasid_allocations_total"), 0);
        assertEquals(value(before, "ioasid_frees_total") + 1,
                value(after, "ioasid_frees_total"), 0);
        assertEquals(2, value(after, "ioasid_set_live_ids{set=\"" + set.id()
                + "\",token=\"vm1\",token_type=\"NONE\"}"), 0);

        // an allocator switch: the default space must be empty first
        for (IoasidHandle h : ids) {
            ioasid.free(h);
        }
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(IoasidAllocator.NAME, "vm-allocator");
        p.put(Constants.SERVICE_RANKING, 10);
        ServiceRegistration<IoasidAllocator> reg = ctx.registerService(IoasidAllocator.class,
                new Allocator(), p);
        IoasidPlatform.await("an allocator switch", () -> value(metrics(), "ioasid_allocator_switches_total")
                == value(after, "ioasid_allocator_switches_total") + 1);
        assertEquals(1, value(metrics(), "ioasid_space_active{space=\"vm-helpers\"}"), 0);
        reg.unregister();

        // map, unmap and a translation fault on smmu0
        IommuService iommu = platform.iommu();
        IommuDomain d = iommu.domainAlloc("0000:00:01.0", false);
        iommu.attachGroup(d, iommu.group("0000:00:01.0"));
        iommu.map(d, 0x10000, 0x7000000, 0x1000, Prot.READ);
        iommu.unmap(d, 0x10000, 0x1000);
        iommu.translate("0000:00:01.0", 0, 0x10000, Access.READ);
        String smmu = metrics();
        String labels = "{backend=\"smmu0\",vendor=\"smmuv3\"}";
        assertEquals(1, value(smmu, "ioasid_iommu_maps_total" + labels), 0);
        assertEquals(1, value(smmu, "ioasid_iommu_unmaps_total" + labels), 0);
        assertEquals(value(before, "ioasid_iommu_attaches_total" + labels) + 1,
                value(smmu, "ioasid_iommu_attaches_total" + labels), 0);
        assertEquals(1, value(smmu, "ioasid_iommu_faults_total{backend=\"smmu0\","
                + "kind=\"translation\",vendor=\"smmuv3\"}"), 0);

        // the VT-d backend stopped and started
        String vtd = "{backend=\"dmar0\"}";
        assertEquals(1, value(smmu, "ioasid_iommu_backend_arrivals_total" + vtd), 0);
        assertEquals(0, value(smmu, "ioasid_iommu_backend_departures_total" + vtd), 0);
        Bundle bundle = platform.bundle("backend.vtd");
        bundle.stop();
        platform.awaitGone("dmar0");
        String gone = metrics();
        assertEquals(1, value(gone, "ioasid_iommu_backend_departures_total" + vtd), 0);
        assertEquals(-1, value(gone, "ioasid_iommu_backend_up{backend=\"dmar0\",vendor=\"vtd\"}"),
                0);
        bundle.start();
        platform.awaitBackend("dmar0");
        String back = metrics();
        assertEquals(2, value(back, "ioasid_iommu_backend_arrivals_total" + vtd), 0);
        assertEquals(1, value(back, "ioasid_iommu_backend_up{backend=\"dmar0\",vendor=\"vtd\"}"),
                0);
    }

    @Test
    public void servletsOfOtherContextsAreNotCaughtByTheIoasidContext() throws Exception {
        credentials("admin", PASSWORD);
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("osgi.http.whiteboard.servlet.pattern", "/elsewhere/*");
        ServiceRegistration<jakarta.servlet.Servlet> reg = ctx.registerService(
                jakarta.servlet.Servlet.class, new jakarta.servlet.http.HttpServlet() {
                    private static final long serialVersionUID = 1L;

                    @Override
                    protected void doGet(jakarta.servlet.http.HttpServletRequest req,
                            jakarta.servlet.http.HttpServletResponse res) throws IOException {
                        res.getWriter().print("default context");
                    }
                }, p);
        try {
            // the Web Console sits in the default context, at the same path "/" as ioasid's
            HttpResponse<String> r = awaitStatus("/elsewhere/x", null, 200);
            assertEquals("default context", r.body());
            assertEquals(401, get("/metrics", null).statusCode());
        } finally {
            reg.unregister();
        }
    }

    @Test
    public void labelValuesAreEscapedInTheExposition() throws Exception {
        credentials("admin", PASSWORD);
        IoasidSet set = platform.ioasid().createSet(TokenType.NONE,
                "<script>alert(\"x\")</script>\n# TYPE forged counter\\", 5);
        platform.ioasid().alloc(set, 1, 1000, null);
        String text = metrics();
        String line = "ioasid_set_live_ids{set=\"" + set.id() + "\",token=\"<script>alert("
                + "\\\"x\\\")</script>\\n# TYPE forged counter\\\\\",token_type=\"NONE\"} 1.0";
        assertTrue(text, text.contains("\n" + line + "\n"));
        assertFalse(text, text.contains("\n# TYPE forged"));
    }

    @Test
    public void nothingListensOnAnAddressButTheLoopbackOne() throws Exception {
        credentials("admin", PASSWORD);
        metrics();
        int port = Integer.parseInt(System.getProperty(PORT));
        List<String> listening = new ArrayList<>();
        for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            Path f = Path.of(table);
            if (!Files.isReadable(f)) {
                continue;
            }
            for (String row : Files.readAllLines(f)) {
                String[] c = row.trim().split("\\s+");
                // local_address is ADDR:PORT in hex; state 0A is LISTEN
                if (c.length > 3 && c[1].contains(":") && c[3].equals("0A")
                        && Integer.parseInt(c[1].substring(c[1].indexOf(':') + 1), 16) == port) {
                    listening.add(c[1].substring(0, c[1].indexOf(':')));
                }
            }
        }
        // 127.0.0.1 in /proc/net/tcp, or mapped into IPv6 in /proc/net/tcp6
        List<String> loopback = List.of("0100007F", "0000000000000000FFFF00000100007F");
        assertEquals("one listening socket on port " + port + ", on 127.0.0.1: " + listening, 1,
                listening.size());
        assertTrue("listening on " + listening + ", not 127.0.0.1",
                loopback.contains(listening.get(0)));
        for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            for (InetAddress a : Collections.list(ni.getInetAddresses())) {
                if (a.isLoopbackAddress() || !(a instanceof Inet4Address)) {
                    continue;
                }
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(a, port), 2000);
                    throw new AssertionError("port " + port + " answers on " + a);
                } catch (ConnectException refused) {
                    // nothing listens there
                }
            }
        }
    }
}
