package ioasid.health.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.felix.hc.api.Result;
import org.junit.jupiter.api.Test;

import ioasid.api.dto.CapacityDTO;
import ioasid.api.dto.IdSpaceDTO;

class CapacityCheckTest {
    static CapacityDTO bits(int bits) {
        CapacityDTO c = new CapacityDTO();
        c.idBits = bits;
        c.maxId = (1 << bits) - 1;
        return c;
    }

    static IdSpaceDTO space(String name, int live) {
        IdSpaceDTO s = new IdSpaceDTO();
        s.name = name;
        s.live = live;
        return s;
    }

    static Result judge(CapacityDTO c, int percent, IdSpaceDTO... spaces) {
        Findings f = new Findings();
        CapacityCheck.judge(f, "host space h1", c, spaces, percent);
        return f.result("fine");
    }

    @Test
    void warnsUnderTheShareOfFreeIds() {
        Result r = judge(bits(4), 10, space("default", 14));
        assertEquals(Result.Status.WARN, r.getStatus());
        assertEquals("host space h1, ID space default: 1 of 15 IDs free (6%, under 10%); free IDs "
                + "or sets (ioasid:sets), or give it more ID bits", Fakes.lines(r).get(0));
    }

    @Test
    void theShareItselfIsEnough() {
        CapacityDTO c = new CapacityDTO();
        c.maxId = 20;
        assertEquals(Result.Status.OK, judge(c, 10, space("default", 18)).getStatus());
        assertEquals(Result.Status.WARN, judge(c, 10, space("default", 19)).getStatus());
    }

    @Test
    void eachSpaceIsJudgedAlone() {
        Result r = judge(bits(4), 20, space("default", 2), space("vcmd", 13));
        assertEquals(1, Fakes.lines(r).size(), Fakes.text(r));
        assertEquals(true, Fakes.lines(r).get(0).contains("ID space vcmd: 2 of 15"));
    }

    @Test
    void zeroPercentNeverWarns() {
        assertEquals(Result.Status.OK, judge(bits(4), 0, space("default", 15)).getStatus());
    }
}
