package ioasid.metrics.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.backend.smmuv3.impl.Smmuv3Backend;
import ioasid.core.impl.IoasidCore;
import ioasid.core.iommu.IommuCore;
import ioasid.testkit.ComponentConfig;

/** The exposition over real cores and a real SMMUv3: names, labels, values, escaping. */
class PlatformCollectorTest {
    private final IoasidCore core = new IoasidCore(20, 10_000);
    private final IommuCore iommu = new IommuCore(core, DomainType.DMA_FQ, 64);
    private final HotSwaps swaps = new HotSwaps();
    private boolean withIommu = true;

    private Map<String, Object> bindSmmu() {
        Map<String, Object> p = new HashMap<>();
        p.put(Constants.SERVICE_ID, 1L);
        p.put(IommuBackend.NAME, "smmu0");
        iommu.bindBackend(new Smmuv3Backend(ComponentConfig.of(Smmuv3Backend.Config.class,
                Map.of("ioasid.iommu.name", "smmu0", "devices", "0000:00:01.0;sid=0x8;pasid=8"))),
                p);
        return p;
    }

    private String scrape() throws Exception {
        PlatformCollector c = new PlatformCollector(() -> core, () -> withIommu ? iommu : null,
                swaps);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new PrometheusTextFormatWriter(false).write(out, c.collect());
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The sample lines (no comments) that start with a name and labels. */
    private static List<String> samples(String text, String prefix) {
        return text.lines().filter(l -> l.startsWith(prefix)).collect(Collectors.toList());
    }

    @Test
    @DisplayName("IOASID counters and gauges move with allocations and frees")
    void ioasidCounters() throws Exception {
        IoasidSet set = core.createSet(TokenType.NONE, "vm1", 10);
        IoasidHandle a = core.alloc(set, 1, 100, null);
        core.alloc(set, 1, 100, null);
        core.alloc(set, 1, 100, null);
        core.free(a);
        String text = scrape();
        assertTrue(text.contains("# HELP ioasid_allocations_total IOASIDs allocated\n"
                + "# TYPE ioasid_allocations_total counter\nioasid_allocations_total 3.0\n"),
                text);
        assertEquals(List.of("ioasid_frees_total 1.0"), samples(text, "ioasid_frees_total"));
        // the text format sorts a family's samples by their labels
        assertEquals(List.of("ioasid_events_delivered_by_type_total{type=\"ALLOC\"} 0.0",
                "ioasid_events_delivered_by_type_total{type=\"BIND\"} 0.0",
                "ioasid_events_delivered_by_type_total{type=\"FREE\"} 0.0",
                "ioasid_events_delivered_by_type_total{type=\"UNBIND\"} 0.0"),
                samples(text, "ioasid_events_delivered_by_type_total{"));
        assertEquals(List.of("ioasid_live_ids 2.0"), samples(text, "ioasid_live_ids "));
        assertTrue(text.contains("# TYPE ioasid_live_ids gauge\n"), text);
        assertEquals(List.of("ioasid_set_live_ids{set=\"" + set.id()
                + "\",token=\"vm1\",token_type=\"NONE\"} 2.0"),
                samples(text, "ioasid_set_live_ids{set=\"" + set.id() + "\""));
        assertEquals(List.of("ioasid_set_quota{set=\"" + set.id()
                + "\",token=\"vm1\",token_type=\"NONE\"} 10.0"),
                samples(text, "ioasid_set_quota{set=\"" + set.id() + "\""));
        assertEquals(List.of("ioasid_space_active{space=\"default\"} 1.0"),
                samples(text, "ioasid_space_active"));
        assertEquals(List.of("ioasid_space_live_ids{space=\"default\"} 2.0"),
                samples(text, "ioasid_space_live_ids"));
        assertEquals(List.of("ioasid_capacity 1048576.0"), samples(text, "ioasid_capacity "));
        for (String counter : new String[] {"ioasid_revocations_total 0.0",
            "ioasid_allocator_switches_total 0.0", "ioasid_allocator_faults_total 0.0",
            "ioasid_listener_stalls_total 0.0"}) {
            assertTrue(text.contains("\n" + counter + "\n"), counter + " in " + text);
        }
    }

    @Test
    @DisplayName("IOMMU: backend up, attaches, maps, unmaps and faults by kind, per backend")
    void iommuCounters() throws Exception {
        bindSmmu();
        IommuDomain d = iommu.domainAlloc("0000:00:01.0", false);
        iommu.attachGroup(d, iommu.group("0000:00:01.0"));
        iommu.map(d, 0x10000, 0x7000000, 0x1000, Prot.READ);
        iommu.map(d, 0x20000, 0x7000000, 0x1000, Prot.READ);
        iommu.unmap(d, 0x20000, 0x1000);
        iommu.translate("0000:00:01.0", 0, 0x30000, Access.READ);
        String text = scrape();
        String labels = "{backend=\"smmu0\",vendor=\"smmuv3\"}";
        assertEquals(List.of("ioasid_iommu_backend_up" + labels + " 1.0"),
                samples(text, "ioasid_iommu_backend_up"));
        assertEquals(List.of("ioasid_iommu_attaches_total" + labels + " 2.0"),
                samples(text, "ioasid_iommu_attaches_total"), "default domain, then d");
        assertEquals(List.of("ioasid_iommu_maps_total" + labels + " 2.0"),
                samples(text, "ioasid_iommu_maps_total"));
        assertEquals(List.of("ioasid_iommu_unmaps_total" + labels + " 1.0"),
                samples(text, "ioasid_iommu_unmaps_total"));
        assertEquals(List.of(
                "ioasid_iommu_faults_total{backend=\"smmu0\",kind=\"driver\",vendor=\"smmuv3\"} 0.0",
                "ioasid_iommu_faults_total{backend=\"smmu0\",kind=\"translation\",vendor=\"smmuv3\"} 1.0"),
                samples(text, "ioasid_iommu_faults_total"));
    }

    @Test
    @DisplayName("hot-swap counts per backend name; a missing IOMMU core leaves its families empty")
    void hotSwapsAndMissingCores() throws Exception {
        swaps.arrived("dmar0");
        swaps.departed("dmar0");
        swaps.arrived("dmar0");
        withIommu = false;
        String text = scrape();
        assertEquals(List.of("ioasid_iommu_backend_arrivals_total{backend=\"dmar0\"} 2.0"),
                samples(text, "ioasid_iommu_backend_arrivals"));
        assertEquals(List.of("ioasid_iommu_backend_departures_total{backend=\"dmar0\"} 1.0"),
                samples(text, "ioasid_iommu_backend_departures"));
        assertEquals(List.of(), samples(text, "ioasid_iommu_maps_total"));
        PlatformCollector none = new PlatformCollector(() -> null, () -> null, new HotSwaps());
        assertTrue(none.collect().size() > 20, "every family listed, with no point");
    }

    @Test
    @DisplayName("label values are escaped per the text format: markup stays text, quotes, "
            + "backslashes and newlines are escaped")
    void labelEscaping() throws Exception {
        IoasidSet set = core.createSet(TokenType.NONE, "<b onclick=\"x\">\\vm\n}1", 5);
        core.alloc(set, 1, 100, null);
        String text = scrape();
        List<String> lines = samples(text, "ioasid_set_live_ids{set=\"" + set.id() + "\"");
        assertEquals(List.of("ioasid_set_live_ids{set=\"" + set.id()
                + "\",token=\"<b onclick=\\\"x\\\">\\\\vm\\n}1\",token_type=\"NONE\"} 1.0"),
                lines, text);
        for (String line : text.split("\n")) {
            assertTrue(line.isEmpty() || line.startsWith("#") || line.startsWith("ioasid_"),
                    "no line is forged by a label: " + line);
        }
    }
}
