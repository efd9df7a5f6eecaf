package ioasid.integration;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A small HTTP client for the console's tests: Basic credentials, status, headers, body. */
final class WebClient {
    static final class Response {
        final int status;
        final String body;
        final Map<String, List<String>> headers;

        Response(int status, String body, Map<String, List<String>> headers) {
            this.status = status;
            this.body = body;
            this.headers = headers;
        }

        String header(String name) {
            for (Map.Entry<String, List<String>> e : headers.entrySet()) {
                if (name.equalsIgnoreCase(e.getKey())) {
                    return e.getValue().get(0);
                }
            }
            return "";
        }

        @Override
        public String toString() {
            return status + " " + body;
        }
    }

    private final String base;
    private final String authorization;

    WebClient(String base, String user, String password) {
        this.base = base;
        this.authorization = "Basic " + Base64.getEncoder().encodeToString(
                (user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    Response get(String path, boolean credentials) throws IOException {
        return send("GET", path, credentials, null, null);
    }

    Response post(String path, boolean credentials, String form) throws IOException {
        return send("POST", path, credentials, form, null);
    }

    Response send(String method, String path, boolean credentials, String form,
            Map<String, String> headers) throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(base + path).openConnection();
        c.setInstanceFollowRedirects(false);
        c.setConnectTimeout(5000);
        c.setReadTimeout(20000);
        c.setRequestMethod(method);
        if (credentials) {
            c.setRequestProperty("Authorization", authorization);
        }
        if (headers != null) {
            headers.forEach(c::setRequestProperty);
        }
        if (form != null) {
            c.setDoOutput(true);
            c.setRequestProperty("Content-Type", "application/x-www-form-urlencoded");
            try (OutputStream out = c.getOutputStream()) {
                out.write(form.getBytes(StandardCharsets.UTF_8));
            }
        }
        int status = c.getResponseCode();
        InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
        String body = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
        return new Response(status, body, c.getHeaderFields());
    }

    /**
     * Waits until the server answers the path with something other than 404 (the web stack
     * starts after the first command, and the console's pages register after it).
     */
    Response awaitUp(String path, boolean credentials) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                Response r = get(path, credentials);
                if (r.status != 404 && r.status != 503) {
                    return r;
                }
                last = new IOException(path + ": " + r.status);
            } catch (ConnectException e) {
                last = e;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(base + path + " never answered", last);
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free port", e);
        }
    }

    /** This machine's addresses other than loopback (IPv6 link-local ones left out). */
    static List<InetAddress> nonLoopbackAddresses() throws IOException {
        List<InetAddress> out = new ArrayList<>();
        for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!ni.isUp()) {
                continue;
            }
            for (InetAddress a : Collections.list(ni.getInetAddresses())) {
                if (!a.isLoopbackAddress()
                        && !(a instanceof Inet6Address && a.isLinkLocalAddress())) {
                    out.add(a);
                }
            }
        }
        return out;
    }

    /** Whether something accepts a connection at the address and port. */
    static boolean accepts(InetAddress address, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, port), 2000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
