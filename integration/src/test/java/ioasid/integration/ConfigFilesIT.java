package ioasid.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator's deploy/*.config files, read by the runtime as a process: each mistake is one
 * line naming the file (and the line, the key, the value, the range), never a stack trace, and
 * the instance shows in iommu:backends as FAILED with the same reason.
 */
class ConfigFilesIT {
    private static final Path JAR = Path.of(System.getProperty("ioasid.runtime.jar"));

    private static ConsoleIT.Run run(Path dir, String commands) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-jar", JAR.toString(), "-c", commands).directory(dir.toFile())
                .start();
        p.getOutputStream().close();
        byte[] err = p.getErrorStream().readAllBytes();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), out);
        return new ConsoleIT.Run(p.exitValue(), out, new String(err, StandardCharsets.UTF_8));
    }

    private static void write(Path deploy, String name, String text) throws Exception {
        Path tmp = deploy.resolve("." + name + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, deploy.resolve(name));
    }

    @Test
    @Timeout(120)
    @DisplayName("syntax errors, values out of range or of the wrong type, duplicate devices, "
            + "unknown keys and empty files: one line each, FAILED with the reason; a core's "
            + "refused value: one line, its default")
    void mistakes(@TempDir Path dir) throws Exception {
        Path deploy = Files.createDirectories(dir.resolve("deploy"));
        for (String b : List.of("backend.smmuv3", "backend.vtd", "backend.virtio")) {
            Files.copy(Path.of(System.getProperty("ioasid.bundles"), b + ".jar"),
                    deploy.resolve(b + ".jar"));
        }
        write(deploy, "ioasid.backend.vtd-dmar1.config",
                "ioasid.iommu.name=\"dmar1\"\ndevices=[\"0000:00:04.0\"]\npss=I\"99\"\n");
        write(deploy, "ioasid.backend.smmuv3-smmu2.config",
                "devices=[\"a;sid=0x1\"]\nssid.bits=\"sixteen\"\n");
        write(deploy, "ioasid.backend.smmuv3-smmu3.config",
                "devices=[\"b;sid=0x1\"]\nssid.bits=sixteen\n");
        write(deploy, "ioasid.backend.virtio-viommu4.config",
                "devices=[\"ep1;sid=0x1\", \"ep1;sid=0x2\"]\n");
        write(deploy, "ioasid.backend.virtio-viommu5.config", "devics=[\"ep5;sid=0x5\"]\n");
        write(deploy, "ioasid.backend.vtd-dmar9.config", "");
        write(deploy, "ioasid.iommu.config", "default.domain=\"bogus\"\n");
        write(deploy, "ioasid.core.config", "id.bits=I\"99\"\n");

        ConsoleIT.Run r = run(dir, "iommu:await 5 20000; iommu:backends");
        String all = r.out + r.err;
        assertEquals(0, r.exit, r.toString());
        assertFalse(all.contains("\tat ") || all.contains("Exception"), "no stack trace: " + r);

        List<String> warnings = r.err.lines().filter(l -> l.startsWith("WARNING: ")).toList();
        assertTrue(warnings.contains("WARNING: deploy/ioasid.backend.vtd-dmar1.config: pss=99 "
                + "is not in [0, 19]; dmar1 not started"), r.toString());
        assertTrue(warnings.contains("WARNING: deploy/ioasid.backend.smmuv3-smmu2.config: "
                + "ssid.bits=sixteen is not an Integer; SMMU smmu2 not started"), r.toString());
        assertTrue(warnings.contains("WARNING: deploy/ioasid.backend.smmuv3-smmu3.config: line 2, "
                + "column 11: expected a quoted value, found 's'; nothing applied"), r.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith(
                "WARNING: deploy/ioasid.backend.virtio-viommu4.config: ")
                && w.contains("ep1") && w.endsWith("; viommu4 not started")), r.toString());
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith(
                "WARNING: deploy/ioasid.backend.virtio-viommu5.config: unknown key devics "
                + "ignored; ioasid.backend.virtio knows ")), r.toString());
        // the cores are one per platform: a refused value falls back to its default, and the
        // core, and everything bound to it, keeps running
        assertTrue(warnings.contains("WARNING: deploy/ioasid.iommu.config: default.domain=bogus "
                + "is not one of [auto, strict, passthrough]; the IOMMU core uses the default of "
                + "each"), r.toString());
        assertTrue(warnings.contains("WARNING: deploy/ioasid.core.config: id.bits=99 is not in "
                + "[1, 20]; the IOASID core uses the default of each"), r.toString());
        assertEquals(7, warnings.size(), "one line per mistake: " + warnings);

        List<String> rows = r.out.lines().toList();
        assertTrue(rows.stream().anyMatch(l -> l.matches(
                "dmar1 +vtd +FAILED .*pss=99 is not in \\[0, 19\\]")), r.out);
        assertTrue(rows.stream().anyMatch(l -> l.matches(
                "smmu2 +smmuv3 +FAILED .*ssid.bits=sixteen is not an Integer")), r.out);
        assertTrue(rows.stream().anyMatch(l -> l.matches("viommu4 +virtio +FAILED .*ep1.*")),
                r.out);
        assertTrue(rows.stream().anyMatch(l -> l.matches("viommu5 +virtio +ACTIVE .*")), r.out);
        assertTrue(rows.stream().anyMatch(l -> l.matches("dmar9 +vtd +ACTIVE .*")),
                "an empty file is named after itself, not the default dmar0: " + r.out);
        assertFalse(rows.stream().anyMatch(l -> l.startsWith("smmu3 ")),
                "nothing applied from a file that does not parse: " + r.out);
    }
}
