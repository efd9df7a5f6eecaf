package ioasid.health.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.felix.hc.api.Result;
import org.junit.jupiter.api.Test;

import ioasid.api.iommu.dto.BackendDTO;
import ioasid.health.impl.IommuInstancesCheck.Configured;
import ioasid.health.impl.IommuInstancesCheck.Registered;

class IommuInstancesCheckTest {
    final List<BackendDTO> backends = new ArrayList<>();
    final List<Configured> configured = new ArrayList<>();
    final List<Registered> registered = new ArrayList<>();
    final Map<String, Long> servedBy = new HashMap<>();
    final Map<Long, String> bundles = new HashMap<>();

    /** An instance configured from its file, registered as service id by bundle 12. */
    BackendDTO instance(String name, long serviceId, String state, String problem) {
        String pid = "ioasid.backend.vtd~" + name;
        configured.add(new Configured(pid, "ioasid.backend.vtd", name,
                "deploy/ioasid.backend.vtd-" + name + ".config"));
        registered.add(new Registered(serviceId, name, pid, "ioasid.backend.vtd", 12));
        BackendDTO b = new BackendDTO();
        b.name = name;
        b.vendor = "vtd";
        b.serviceId = serviceId;
        b.state = state;
        b.problem = problem;
        backends.add(b);
        return b;
    }

    Result judge() {
        Findings f = new Findings();
        IommuInstancesCheck.judge(f, backends.toArray(new BackendDTO[0]), configured, registered,
                servedBy, bundles::get);
        return f.result("up");
    }

    @Test
    void okWhenEveryConfiguredInstanceRuns() {
        instance("dmar0", 40, "ACTIVE", null);
        instance("dmar1", 41, "ACTIVE", null);
        assertEquals("OK up", Fakes.text(judge()));
    }

    @Test
    void aFailedInstanceIsCriticalWithItsReasonAndFile() {
        instance("dmar0", 40, "ACTIVE", null);
        instance("dmar9", 41, "FAILED", "pss=99 is not in [0, 19]");
        assertEquals("CRITICAL dmar9 (vtd) is FAILED: pss=99 is not in [0, 19]; fix "
                + "deploy/ioasid.backend.vtd-dmar9.config", Fakes.text(judge()));
    }

    @Test
    void aRefusedChangeWarns() {
        instance("dmar0", 40, "ACTIVE", "devices: x listed twice");
        assertEquals("WARN dmar0 (vtd) refused a change and runs on its previous configuration: "
                + "devices: x listed twice; fix deploy/ioasid.backend.vtd-dmar0.config",
                Fakes.text(judge()));
    }

    @Test
    void aConfiguredInstanceWithoutItsBundleNamesTheBundle() {
        instance("dmar0", 40, "ACTIVE", null);
        backends.clear();
        registered.clear();
        servedBy.put("ioasid.backend.vtd", 12L);
        bundles.put(12L, "backend.vtd (bundle 12) is RESOLVED; start it");
        assertEquals("CRITICAL dmar0 (deploy/ioasid.backend.vtd-dmar0.config) is configured but "
                + "not running: its backend bundle backend.vtd (bundle 12) is RESOLVED; start it",
                Fakes.text(judge()));
        bundles.clear();
        assertEquals("CRITICAL dmar0 (deploy/ioasid.backend.vtd-dmar0.config) is configured but "
                + "not running: its backend bundle was uninstalled; install it again",
                Fakes.text(judge()));
        servedBy.clear();
        assertEquals("CRITICAL dmar0 (deploy/ioasid.backend.vtd-dmar0.config) is configured but "
                + "not running: no backend has registered ioasid.backend.vtd instances; install "
                + "and start its bundle", Fakes.text(judge()));
    }

    @Test
    void aBackendTheCoreIgnoresIsCritical() {
        instance("dmar0", 40, "ACTIVE", null);
        registered.add(new Registered(41, "dmar0", "ioasid.backend.vtd~other",
                "ioasid.backend.vtd", 12));
        assertEquals("CRITICAL dmar0 (service 41) is registered but the IOMMU core does not use "
                + "it: its name is taken or it was refused; see the log", Fakes.text(judge()));
    }

    @Test
    void noCoreIsCritical() {
        IommuInstancesCheck c = new IommuInstancesCheck(null,
                Fakes.config(IommuInstancesCheck.Config.class), Map.of());
        Result r = c.execute();
        assertEquals(Result.Status.CRITICAL, r.getStatus());
    }

    @Test
    void filterValuesAreEscaped() {
        assertEquals("a\\(b\\)\\*\\\\c~d", IommuInstancesCheck.escape("a(b)*\\c~d"));
    }

    @Test
    void bundleStatesAreNamed() {
        assertEquals("RESOLVED", IommuInstancesCheck.state(org.osgi.framework.Bundle.RESOLVED));
        assertEquals("INSTALLED", IommuInstancesCheck.state(org.osgi.framework.Bundle.INSTALLED));
    }
}
