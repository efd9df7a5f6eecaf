package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.GPU;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The command queue: 16-byte entries in the arm-smmu-v3.h layout, recorded in order. */
class CommandQueueTest {

    @Test
    @DisplayName("section 2 SMMUv3: opcodes CFGI_STE 0x3, CFGI_CD 0x5, CFGI_CD_ALL 0x6, "
            + "TLBI_NH_ASID 0x11, TLBI_NH_VA 0x12, ATC_INV 0x40, CMD_SYNC 0x46")
    void opcodes() {
        assertEquals(0x03, Command.Op.CFGI_STE.code);
        assertEquals(0x05, Command.Op.CFGI_CD.code);
        assertEquals(0x06, Command.Op.CFGI_CD_ALL.code);
        assertEquals(0x11, Command.Op.TLBI_NH_ASID.code);
        assertEquals(0x12, Command.Op.TLBI_NH_VA.code);
        assertEquals(0x28, Command.Op.TLBI_S12_VMALL.code);
        assertEquals(0x2a, Command.Op.TLBI_S2_IPA.code);
        assertEquals(0x40, Command.Op.ATC_INV.code);
        assertEquals(0x46, Command.Op.CMD_SYNC.code);
    }

    @Test
    @DisplayName("section 2 SMMUv3: CFGI_CD puts SSID in 31:12, SID in 63:32 and Leaf in bit 0 of "
            + "dword 1; TLBI puts the ASID in 63:48 and the address in 63:12")
    void encodings() {
        long[] cfgi = Command.cfgiCd(0x1234, 0xabcde, true).encode();
        assertEquals(0x05, cfgi[0] & 0xff);
        assertEquals(0xabcde, Bits.get(cfgi[0], 31, 12));
        assertEquals(0x1234, Bits.get(cfgi[0], 63, 32));
        assertEquals(1, cfgi[1]);
        long[] va = Command.tlbiNhVa(0xbeef, 0x7fff_1234_5000L, true).encode();
        assertEquals(0x12, va[0] & 0xff);
        assertEquals(0xbeef, Bits.get(va[0], 63, 48));
        assertEquals(0x7fff_1234_5000L | 1, va[1]);
        long[] s2 = Command.tlbiS2Ipa(7, 0x3000, false).encode();
        assertEquals(7, Bits.get(s2[0], 47, 32));
        assertArrayEquals(new long[] {0x46, 0}, Command.sync().encode());
        for (Command c : List.of(Command.cfgiCd(3, 9, false), Command.cfgiSte(8, true),
                Command.tlbiNhAsid(5), Command.tlbiNhVa(2, 0x8000, false),
                Command.cfgiCdAll(4), Command.sync())) {
            long[] e = c.encode();
            assertEquals(c, Command.decode(e[0], e[1]), "round trip of " + c);
        }
    }

    @Test
    @DisplayName("section 2 SMMUv3: every command lands in the ring as two dwords, and "
            + "commandLog() shows the same commands in order")
    void ringAndLog() {
        Smmuv3Fixture fx = new Smmuv3Fixture();
        fx.attachedPaging(GPU);
        CommandQueue q = fx.smmu.cmdq;
        List<Command> all = q.since(0);
        assertEquals(8, all.size());
        for (int i = 0; i < all.size(); i++) {
            assertArrayEquals(all.get(i).encode(), q.entry(i));
        }
        assertEquals(8, q.prod());
        List<String> log = fx.b.commandLog();
        assertEquals("CFGI_CD sid=0x10 ssid=0 leaf=0", log.get(0));
        assertEquals("CFGI_STE sid=0x10 leaf=1", log.get(6));
        assertEquals("CMD_SYNC", log.get(7));
    }

    @Test
    @DisplayName("decision D2: the log is bounded and keeps the most recent commands")
    void boundedLog() {
        Smmuv3Fixture fx = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withCommandLogSize(5));
        for (int i = 0; i < 4; i++) {
            fx.smmu.cmdq.submit(List.of(Command.tlbiNhAsid(i)));
        }
        assertEquals(8, fx.smmu.cmdq.issued());
        assertEquals(List.of("CMD_SYNC", "TLBI_NH_ASID asid=2", "CMD_SYNC", "TLBI_NH_ASID asid=3",
                "CMD_SYNC"), fx.b.commandLog());
        assertEquals(List.of("TLBI_NH_ASID asid=3", "CMD_SYNC"), fx.cmds(6));
        assertTrue(fx.cmds(0).size() <= 5);
    }
}
