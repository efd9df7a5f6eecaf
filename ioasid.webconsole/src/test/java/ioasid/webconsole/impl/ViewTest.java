package ioasid.webconsole.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.function.Function;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidService;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.CapacityDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.dto.OccupancyDTO;
import ioasid.api.dto.SetDTO;
import ioasid.api.dto.StatsDTO;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.dto.BackendDTO;
import ioasid.api.iommu.dto.DeviceDTO;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.iommu.dto.PasidDTO;
import ioasid.api.iommu.dto.ViommuDTO;

/** The pages' JSON and HTML, from the services' answers; nothing they hold becomes markup. */
class ViewTest {
    static final String EVIL = "<script>alert('x')</script>\"&";

    static IoasidService ioasid(SetDTO... sets) {
        CapacityDTO cap = new CapacityDTO();
        cap.capacity = 1 << 20;
        cap.available = 100;
        cap.idBits = 20;
        cap.maxId = (1 << 20) - 1;
        StatsDTO st = new StatsDTO();
        st.live = 3;
        st.allocations = 7;
        OccupancyDTO occ = new OccupancyDTO();
        occ.maxId = cap.maxId;
        occ.bucketSize = 256;
        occ.live = new int[4096];
        occ.dominantSet = new int[4096];
        occ.live[0] = 3;
        occ.dominantSet[0] = 2;
        IdSpaceDTO space = new IdSpaceDTO();
        space.name = "host";
        space.isDefault = true;
        space.active = true;
        space.members = new long[] {42};
        AllocatorDTO a = new AllocatorDTO();
        a.serviceId = 42;
        a.name = EVIL;
        a.state = AllocatorDTO.WAITING;
        a.errno = "EAGAIN";
        a.reason = "waits for " + EVIL;
        ListenerDTO l = new ListenerDTO();
        l.name = EVIL;
        l.scope = "SET";
        l.setId = 2;
        l.state = ListenerDTO.STALLED;
        l.failures = 5;
        l.lastFailure = EVIL;
        Map<String, Function<Object[], Object>> m = Map.of("capacity", x -> cap, "stats",
                x -> st, "idSpaces", x -> new IdSpaceDTO[] {space}, "allocators",
                x -> new AllocatorDTO[] {a}, "sets", x -> sets, "listeners",
                x -> new ListenerDTO[] {l}, "occupancy", x -> occ);
        return Stub.of(IoasidService.class, m);
    }

    static SetDTO set(int id, String token, int size, int quota) {
        SetDTO s = new SetDTO();
        s.id = id;
        s.tokenType = "NONE";
        s.token = token;
        s.size = size;
        s.quota = quota;
        s.state = "ACTIVE";
        return s;
    }

    @Test
    @DisplayName("a set token, allocator and listener names with <script> markup come out "
            + "inert: escaped in the HTML, \\u-escaped in the JSON")
    void markupIsInert() {
        String json = IoasidView.json(ioasid(set(2, EVIL, 3, 10)));
        assertFalse(json.contains("<script"), json);
        assertFalse(json.contains("</"), json);
        assertTrue(json.contains("\\u003cscript\\u003e"), json);
        String html = IoasidView.sets(new SetDTO[] {set(2, EVIL, 3, 10)});
        assertFalse(html.contains("<script"), html);
        assertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&#34;&amp;"),
                html);
        String listeners = IoasidView.listeners(ioasid().listeners());
        assertFalse(listeners.contains("<script"), listeners);
        String spaces = IoasidView.spaces(ioasid().idSpaces(), ioasid().allocators());
        assertFalse(spaces.contains("<script"), spaces);
        assertTrue(spaces.contains("EAGAIN: waits for &lt;script&gt;"), spaces);
    }

    @Test
    @DisplayName("the IOASID data: values as the service answers them, the quota bar filled "
            + "to size/quota, the occupancy arrays whole, listeners numbered per scope")
    void ioasidData() {
        String json = IoasidView.json(ioasid(set(2, "vm1", 3, 10), set(3, "vm2", 0, 0)));
        assertTrue(json.contains("{\"id\":2,\"tokenType\":\"NONE\",\"token\":\"vm1\","
                + "\"owner\":null,\"quota\":10,\"size\":3,"), json);
        assertTrue(json.contains("\"occupancy\":{\"maxId\":1048575,\"bucketSize\":256,"
                + "\"live\":[3,0,0"), json);
        assertTrue(json.contains("\"dominantSet\":[2,0"), json);
        String sets = IoasidView.sets(new SetDTO[] {set(2, "vm1", 3, 10),
            set(3, "vm2", 0, 0)});
        assertTrue(sets.contains("<span style=\"width:30%\"></span></span> 3 of 10"), sets);
        assertTrue(sets.contains("<span style=\"width:0%\"></span></span> 0 of 0"), sets);
        assertTrue(sets.contains("background:" + Html.colour(2)), sets);
        String listeners = IoasidView.listeners(ioasid().listeners());
        assertTrue(listeners.contains("<td>SET set 2</td><td>1</td>"), listeners);
        assertTrue(listeners.contains("<td>5</td>"), listeners);
    }

    @Test
    @DisplayName("the IOMMU data: groups with their three domains and owners, PASIDs, "
            + "vIOMMUs, log tails escaped, the device list for the probe")
    void iommuData() {
        BackendDTO b = new BackendDTO();
        b.name = "smmu0";
        b.vendor = "smmuv3";
        b.state = "UP";
        b.devices = new String[] {"0000:00:01.0"};
        b.rejectedDevices = new String[0];
        b.faults = 3;
        b.faultsByKind = Map.of("translation", 2L, "driver", 1L);
        GroupDTO g = new GroupDTO();
        g.id = 5;
        g.backend = "smmu0";
        g.devices = new String[] {"0000:00:01.0"};
        g.domainId = 5;
        g.domainType = "DMA_FQ";
        g.defaultDomainId = 5;
        g.defaultDomainType = "DMA_FQ";
        g.blockingDomainId = 9;
        g.owner = "vfio";
        PasidDTO p = new PasidDTO();
        p.device = "0000:00:01.0";
        p.pasid = 7;
        p.domainId = 11;
        p.kind = "SVA";
        ViommuDTO v = new ViommuDTO();
        v.id = 1;
        v.backend = "smmu0";
        v.parentDomainId = 12;
        v.vdevices = new String[] {"0000:00:01.0=0x10"};
        DeviceDTO d = new DeviceDTO();
        d.name = "0000:00:01.0";
        IommuService s = Stub.of(IommuService.class, Map.of("backends",
                x -> new BackendDTO[] {b}, "groups", x -> new GroupDTO[] {g}, "pasids",
                x -> new PasidDTO[] {p}, "viommus", x -> new ViommuDTO[] {v}, "devices",
                x -> new DeviceDTO[] {d}, "commandLog", x -> new String[] {"CMD_SYNC " + EVIL}));
        String json = IommuView.json(s);
        assertFalse(json.contains("<script"), json);
        assertTrue(json.contains("\"devices\":[\"0000:00:01.0\"],\"faults\":3}"), json);
        String groups = IommuView.groups(new GroupDTO[] {g});
        assertTrue(groups.contains("<td>5 DMA_FQ</td><td>5 DMA_FQ</td><td>9</td><td>vfio</td>"),
                groups);
        assertTrue(IommuView.pasids(new PasidDTO[] {p}).contains("<td>7</td><td>11</td>"));
        assertTrue(IommuView.viommus(new ViommuDTO[] {v}).contains("0000:00:01.0=0x10"));
        String log = IommuView.log("smmu0", new String[] {"CMD_SYNC " + EVIL});
        assertTrue(log.contains("CMD_SYNC &lt;script&gt;"), log);
        assertEquals("3 (driver 1, translation 2)", IommuView.faults(b));
        assertTrue(IommuView.backends(new BackendDTO[] {b})
                .contains("<td>3 (driver 1, translation 2)</td>"));
        b.faultsByKind = Map.of();
        b.faults = 0;
        assertEquals("0", IommuView.faults(b));
    }

    @Test
    @DisplayName("JSON strings: quotes, backslashes, control characters and line separators "
            + "escaped; nesting closed in order")
    void json() {
        String j = new Json().object().field("a", "q\"b\\n\n\u0001\u2028").key("b").array()
                .value(1).object().field("c", true).end().end().field("d", (String) null).end()
                .toString();
        assertEquals("{\"a\":\"q\\\"b\\\\n\\n\\u0001\\u2028\",\"b\":[1,{\"c\":true}],"
                + "\"d\":null}", j);
    }
}
