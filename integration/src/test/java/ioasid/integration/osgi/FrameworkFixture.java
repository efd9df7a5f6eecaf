package ioasid.integration.osgi;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.function.BooleanSupplier;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

import ioasid.api.IoasidService;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.dto.BackendDTO;

/** Waiting, configuring and looking up, for the suites running inside Felix. */
public final class FrameworkFixture {
    public static final long TIMEOUT_MS = 15_000;

    private FrameworkFixture() {
    }

    /** Polls until the condition holds; fails with the message after the timeout. */
    public static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
            }
        }
    }

    /** A factory configuration, as Config Admin keeps it: one IOMMU instance or one host. */
    public static Configuration factory(ConfigurationAdmin ca, String pid, String name, Object... kv)
            throws IOException {
        Configuration c = ca.getFactoryConfiguration(pid, name, "?");
        Dictionary<String, Object> props = new Hashtable<>();
        for (int i = 0; i < kv.length; i += 2) {
            props.put((String) kv[i], kv[i + 1]);
        }
        c.update(props);
        return c;
    }

    public static Configuration smmu(ConfigurationAdmin ca, String name, String... devices)
            throws IOException {
        return factory(ca, "ioasid.backend.smmuv3", name, "ioasid.iommu.name", name,
                "devices", devices);
    }

    public static Configuration vtd(ConfigurationAdmin ca, String name, String... devices)
            throws IOException {
        return factory(ca, "ioasid.backend.vtd", name, "ioasid.iommu.name", name, "devices",
                devices, "nesting", Boolean.TRUE);
    }

    public static Configuration virtio(ConfigurationAdmin ca, String name, String... devices)
            throws IOException {
        return factory(ca, "ioasid.backend.virtio", name, "ioasid.iommu.name", name, "devices",
                devices);
    }

    /** A host IOASID space that guest vIOMMUs allocate from. */
    public static Configuration host(ConfigurationAdmin ca) throws IOException {
        return factory(ca, "ioasid.host", "host", "name", "host");
    }

    public static boolean hasBackend(IommuService iommu, String name) {
        return Arrays.stream(iommu.backends()).anyMatch(b -> b.name.equals(name));
    }

    public static BackendDTO backend(IommuService iommu, String name) {
        return Arrays.stream(iommu.backends()).filter(b -> b.name.equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no backend " + name));
    }

    /** The host IOASID space, once registered. */
    public static IoasidService hostSpace(BundleContext ctx) {
        await("the host IOASID space", () -> !refs(ctx, "(ioasid.role=host)").isEmpty());
        return ctx.getService(refs(ctx, "(ioasid.role=host)").iterator().next());
    }

    private static Collection<ServiceReference<IoasidService>> refs(BundleContext ctx,
            String filter) {
        try {
            return ctx.getServiceReferences(IoasidService.class, filter);
        } catch (InvalidSyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Runs a script through the console as an operator's script runs (each statement's result
     * printed, each failure one line on stderr, the next statement run).
     *
     * @return {stdout, stderr, the console's summary line or "" when every statement succeeded}
     */
    public static String[] script(CommandProcessor processor, String script) throws IOException {
        Path file = Files.createTempFile("ioasid-", ".gosh");
        try {
            Files.writeString(file, script);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            String summary = "";
            try (CommandSession session = processor.createSession(InputStream.nullInputStream(),
                    new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8))) {
                session.put("file", file.toString());
                session.execute("console:source $file");
            } catch (Exception e) {
                summary = e.getMessage();
            }
            return new String[] {out.toString(StandardCharsets.UTF_8),
                err.toString(StandardCharsets.UTF_8), summary};
        } finally {
            Files.deleteIfExists(file);
        }
    }

    public static Bundle bundle(BundleContext ctx, String symbolicName) {
        for (Bundle b : ctx.getBundles()) {
            if (b.getSymbolicName().equals(symbolicName)) {
                return b;
            }
        }
        throw new AssertionError("no bundle " + symbolicName);
    }
}
