package ioasid.integration.osgi;

import static ioasid.testkit.osgi.IoasidPlatform.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
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
import org.ops4j.pax.exam.util.Filter;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.iommu.Access;
import ioasid.testkit.osgi.Configs;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.osgi.WebConsole;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

/**
 * The platform with Jetty, the Felix Web Console and its IOASID and IOMMU pages, over HTTP on
 * 127.0.0.1: login required with the ioasid.http credentials, the pages and their JSON as the
 * services answer, markup in a set token inert, forms acting only with the page's token and
 * answering as the shell does.
 */
@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class WebConsoleIT {
    static final String PASSWORD = "it-password-1";
    static final String EVIL = "<script>alert(1)</script>";

    @Inject
    BundleContext ctx;

    @Inject
    ConfigurationAdmin ca;

    @Inject
    @Filter(IoasidPlatform.OWN_SPACE)
    IoasidService ioasid;

    IoasidPlatform platform;
    String base;

    @Configuration
    public Option[] config() {
        return new Option[] {IoasidOptions.platform(), IoasidOptions.backends(),
            IoasidOptions.webConsole()};
    }

    @Before
    public void setUp() throws Exception {
        platform = IoasidPlatform.ready(ctx);
        platform.configure(Configs.smmu("smmu0", "0000:00:01.0;sid=0x8;pasid=16"));
        platform.awaitBackends("smmu0");
        base = "http://127.0.0.1:" + WebConsole.start(ctx);
        WebConsole.credentials(ca, "admin", PASSWORD);
        await("the console's IOASID page with the ioasid.http credentials",
                () -> status("GET", "/system/console/ioasid", PASSWORD, null) == 200);
    }

    @Test
    public void loginPagesJsonAndForms() throws Exception {
        assertEquals(401, status("GET", "/system/console/ioasid", null, null));
        assertEquals(401, status("GET", "/system/console/ioasid/data.json", null, null));
        assertEquals("no built-in default", 401,
                status("GET", "/system/console/ioasid", "admin", null));
        assertEquals(401, status("POST", "/system/console/ioasid/alloc", null, "set=1"));

        IoasidSet set = ioasid.createSet(TokenType.NONE, EVIL, 50);
        String page = body("GET", "/system/console/ioasid", PASSWORD, null);
        assertTrue(page, page.contains("id=\"ioasid-alloc\""));
        assertTrue(page, page.contains("<canvas id=\"ioasid-picture\""));
        String json = body("GET", "/system/console/ioasid/data.json", PASSWORD, null);
        assertFalse(brief(json), json.contains("<script"));
        assertTrue(brief(json), json.contains("\"id\":" + set.id() + ",\"tokenType\":\"NONE\","
                + "\"token\":\"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e\""));
        assertTrue(brief(json), json.contains(
                "\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt;"));
        assertTrue(brief(json), json.contains("\"live\":" + ioasid.stats().live + ","));
        String token = token(page);

        String refused = body("POST", "/system/console/ioasid/alloc", PASSWORD,
                "set=" + set.id() + "&count=2");
        assertTrue(refused, refused.contains("\"errno\":\"EPERM\""));
        assertEquals(403, status("POST", "/system/console/ioasid/alloc", PASSWORD,
                "set=" + set.id() + "&csrf=forged"));
        assertEquals("nothing allocated without the token", 0, ioasid.ids(set, 10).length);

        String done = body("POST", "/system/console/ioasid/alloc", PASSWORD,
                "set=" + set.id() + "&count=2&csrf=" + enc(token));
        assertEquals(2, ioasid.ids(set, 10).length);
        int first = ioasid.ids(set, 10)[0].id;
        int second = ioasid.ids(set, 10)[1].id;
        assertEquals(done, "{\"ok\":true,\"errno\":null,\"message\":\"2 IOASIDs allocated in "
                + "set " + set.id() + ": " + first + "-" + second + "\"}", done);
        String after = body("GET", "/system/console/ioasid/data.json", PASSWORD, null);
        assertTrue(brief(after), after.contains("\"token\":\"\\u003cscript\\u003ealert(1)\\u003c/script"
                + "\\u003e\",\"owner\":null,\"quota\":50,\"size\":2,"));

        String unknown = body("POST", "/system/console/ioasid/free", PASSWORD,
                "ids=999999&csrf=" + enc(token));
        assertEquals(unknown, "{\"ok\":false,\"errno\":\"ENOENT\",\"message\":\"ENOENT: unknown "
                + "IOASID 999999\"}", unknown);
        String freed = body("POST", "/system/console/ioasid/free", PASSWORD,
                "ids=" + first + "&csrf=" + enc(token));
        assertTrue(freed, freed.contains("\"message\":\"IOASID " + first + " is FREE"));
        assertEquals(1, ioasid.ids(set, 10).length);

        String iommuPage = body("GET", "/system/console/iommu", PASSWORD, null);
        assertTrue(iommuPage, iommuPage.contains("id=\"iommu-probe\""));
        String iommu = body("GET", "/system/console/iommu/data.json", PASSWORD, null);
        assertTrue(brief(iommu), iommu.contains("{\"name\":\"smmu0\",\"vendor\":\"smmuv3\","));
        assertTrue(brief(iommu), iommu.contains("\"devices\":[\"0000:00:01.0\"]"));
        String probe = body("POST", "/system/console/iommu/probe", PASSWORD,
                "device=0000:00:01.0&iova=0x1000&pasid=0&access=r&csrf="
                        + enc(token(iommuPage)));
        String expected = "0000:00:01.0 pasid 0 READ 0x1000: "
                + platform.iommu().translate("0000:00:01.0", 0, 0x1000, Access.READ);
        assertTrue(probe, probe.contains("\"message\":\"" + expected + "\""));
        assertEquals("the IOASID page's token is not the IOMMU page's", 403,
                status("POST", "/system/console/iommu/probe", PASSWORD,
                        "device=0000:00:01.0&iova=0&csrf=" + enc(token)));
    }

    private static String token(String page) {
        Matcher m = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"").matcher(page);
        assertTrue(page, m.find());
        return m.group(1);
    }

    /** A long answer cut for a failure's message: the occupancy arrays are mostly zeros. */
    private static String brief(String s) {
        return s.replaceAll("(,0){8,}", ",0...").substring(0, Math.min(s.length(), 3000));
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private int status(String method, String path, String password, String form) {
        try {
            return request(method, path, password, form).getResponseCode();
        } catch (IOException e) {
            return -1;
        }
    }

    private String body(String method, String path, String password, String form)
            throws IOException {
        HttpURLConnection c = request(method, path, password, form);
        InputStream in = c.getResponseCode() >= 400 ? c.getErrorStream() : c.getInputStream();
        return in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    private HttpURLConnection request(String method, String path, String password, String form)
            throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(base + path).openConnection();
        c.setRequestMethod(method);
        c.setConnectTimeout(5000);
        c.setReadTimeout(20000);
        if (password != null) {
            c.setRequestProperty("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                    ("admin:" + password).getBytes(StandardCharsets.UTF_8)));
        }
        if (form != null) {
            c.setDoOutput(true);
            c.setRequestProperty("Content-Type", "application/x-www-form-urlencoded");
            try (OutputStream out = c.getOutputStream()) {
                out.write(form.getBytes(StandardCharsets.UTF_8));
            }
        }
        return c;
    }
}
