package ioasid.core.impl;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.api.Errno.EPERM;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Ioasid;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.SetOwner;
import ioasid.api.TokenType;
import ioasid.api.dto.SetExportDTO;
import ioasid.api.dto.SetMemberDTO;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidListener;
import ioasid.core.impl.IoasidFixture.Recorder;
import ioasid.core.impl.IoasidFixture.SpaceAllocator;

/** Export and import of a set between two IOASID spaces: decision D36, rules 66, 70, 73, 77. */
class SetMigrationTest {
    private final IoasidFixture src = new IoasidFixture();
    private final IoasidFixture dst = new IoasidFixture();

    @AfterEach
    void close() {
        src.close();
        dst.close();
    }

    /** A set vm1 of the source with IDs 5 (SPID 101), 6 (no SPID) and 7 (SPID 103). */
    private IoasidSet vm1() {
        IoasidSet s = src.core.createSet(TokenType.NONE, "vm1", 50);
        src.core.attachSpid(src.core.alloc(s, 5, 5, null), 101);
        src.core.alloc(s, 6, 6, "data");
        src.core.attachSpid(src.core.alloc(s, 7, 7, null), 103);
        return s;
    }

    private static String members(SetExportDTO d) {
        List<String> out = new ArrayList<>();
        for (SetMemberDTO m : d.members) {
            out.add(m.id + ">" + m.spid + " " + m.state + " " + m.refs);
        }
        return out.toString();
    }

    /** SPID to ID of a set, as the set's members show them. */
    private static List<String> spids(IoasidFixture fx, IoasidSet s) {
        List<String> out = new ArrayList<>();
        for (var d : fx.core.ids(s, Integer.MAX_VALUE)) {
            out.add(d.spid + ">" + d.id + " " + d.state + " " + d.refs);
        }
        return out;
    }

    @Test
    @DisplayName("D36: the export holds token, quota and members; an ID without SPID gets its own")
    void export() {
        IoasidSet s = vm1();
        String before = src.state();
        SetExportDTO d = src.core.exportSet(s);
        assertEquals(before, src.state(), "the export changes nothing");
        assertEquals(SetExportDTO.FORMAT, d.format);
        assertEquals(s.id(), d.setId);
        assertEquals("NONE", d.tokenType);
        assertEquals("vm1", d.token);
        assertEquals(50, d.quota);
        assertEquals(20, d.idBits);
        assertNull(d.owner);
        assertEquals("[5>101 IDLE 1, 6>6 IDLE 1, 7>103 IDLE 1]", members(d));
        assertArrayEquals(new int[0], d.freePendingIds);
        assertEquals(Ioasid.INVALID, src.core.find(null, 6).spid(), "no SPID attached at the source");
    }

    @Test
    @DisplayName("D36: ACTIVE travels as ACTIVE with its refs; FREE_PENDING stays behind, listed")
    void statesAtExport() {
        IoasidSet s = vm1();
        src.core.get(src.core.find(s, 5));
        src.core.get(src.core.find(s, 7));
        src.core.free(src.core.find(s, 7)); // FREE_PENDING: a reference is left
        SetExportDTO d = src.core.exportSet(s);
        assertEquals("[5>101 ACTIVE 2, 6>6 IDLE 1]", members(d));
        assertArrayEquals(new int[] {7}, d.freePendingIds);

        IoasidSet t = dst.core.importSet(d);
        assertEquals(List.of("101>5 IDLE 1", "6>6 IDLE 1"), spids(dst, t),
                "references stay with the source's users: every import is IDLE (rule 66)");
        assertEquals(IoasidState.FREE_PENDING, src.core.find(s, 7).state(), "source untouched");
    }

    @Test
    @DisplayName("D36: a member without SPID whose number is another's SPID fails the export")
    void ambiguousGuestView() {
        IoasidSet s = src.core.createSet(TokenType.NONE, "vm1", 10);
        src.core.attachSpid(src.core.alloc(s, 5, 5, null), 6);
        IoasidHandle six = src.core.alloc(s, 6, 6, null);
        src.unchanged(EINVAL, () -> src.core.exportSet(s));
        src.core.attachSpid(six, 5);
        assertEquals("[5>6 IDLE 1, 6>5 IDLE 1]", members(src.core.exportSet(s)));
    }

    @Test
    @DisplayName("D36: a FREE_PENDING member's SPID does not make its number ambiguous")
    void pendingSpidDoesNotConflict() {
        IoasidSet s = src.core.createSet(TokenType.NONE, "vm1", 10);
        IoasidHandle five = src.core.alloc(s, 5, 5, null);
        src.core.attachSpid(five, 6);
        src.core.get(five);
        src.core.free(five);
        src.core.alloc(s, 6, 6, null);
        SetExportDTO d = src.core.exportSet(s);
        assertEquals("[6>6 IDLE 1]", members(d));
        assertArrayEquals(new int[] {5}, d.freePendingIds);
    }

    @Test
    @DisplayName("D36, rule 65, D19: a FREE_PENDING set is EBUSY, a freed one or a foreign one EINVAL")
    void exportErrors() {
        IoasidSet s = vm1();
        IoasidSet empty = src.core.createSet(TokenType.NONE, "empty", 1);
        IoasidSet foreign = dst.core.createSet(TokenType.NONE, "x", 1);
        src.core.get(src.core.find(s, 5));
        src.core.freeAllInSet(s);
        src.core.freeSet(s);
        src.unchanged(EBUSY, () -> src.core.exportSet(s));
        src.core.freeSet(empty);
        src.unchanged(EINVAL, () -> src.core.exportSet(empty));
        src.unchanged(EINVAL, () -> src.core.exportSet(foreign));
    }

    @Test
    @DisplayName("D36, D1: free IDs are taken again, taken ones get the lowest free; SPIDs kept")
    void placement() {
        SetExportDTO d = src.core.exportSet(vm1());
        IoasidSet other = dst.core.createSet(TokenType.NONE, "other", 100);
        dst.core.alloc(other, 1, 1, null);
        dst.core.alloc(other, 3, 3, null);
        dst.core.alloc(other, 6, 6, null); // 6 taken: lowest free is 2
        IoasidSet t = dst.core.importSet(d);
        assertEquals(List.of("6>2 IDLE 1", "101>5 IDLE 1", "103>7 IDLE 1"), spids(dst, t));
        assertEquals(2, dst.core.findBySpid(t, 6, false).id());

        dst.core.freeAllInSet(t);
        dst.core.freeSet(t);
        dst.core.alloc(other, 5, 5, null);
        dst.core.alloc(other, 7, 7, null); // now 5, 6, 7 taken; 2 and 4 free, 8 next
        IoasidSet u = dst.core.importSet(d);
        assertEquals(List.of("101>2 IDLE 1", "6>4 IDLE 1", "103>8 IDLE 1"), spids(dst, u),
                "members placed in their order, lowest free first");
    }

    @Test
    @DisplayName("D36: a kept ID is not handed to an earlier member that needs a new one")
    void keptIdsAreSkipped() {
        IoasidSet s = src.core.createSet(TokenType.NONE, "vm1", 10);
        src.core.attachSpid(src.core.alloc(s, 1, 1, null), 11);
        src.core.attachSpid(src.core.alloc(s, 2, 2, null), 12);
        SetExportDTO d = src.core.exportSet(s);
        IoasidSet other = dst.core.createSet(TokenType.NONE, "other", 10);
        dst.core.alloc(other, 1, 1, null); // 1 taken, 2 free: member 1 must not get 2
        IoasidSet t = dst.core.importSet(d);
        assertEquals(List.of("12>2 IDLE 1", "11>3 IDLE 1"), spids(dst, t));
    }

    @Test
    @DisplayName("D36, rules 66, 73, D15: ALLOC then BIND for each ID, to a listener waiting for the token")
    void destinationEvents() {
        SetExportDTO d = src.core.exportSet(vm1());
        Recorder kvm = new Recorder("kvm");
        dst.register(kvm, IoasidListener.SCOPE, "set", IoasidListener.SET_TOKEN, "vm1");
        Recorder iommu = new Recorder("iommu");
        dst.register(iommu);
        dst.core.importSet(d);
        List<String> expected = List.of("ALLOC 5", "BIND 5", "ALLOC 6", "BIND 6", "ALLOC 7",
                "BIND 7");
        assertEquals(expected, kvm.seen());
        assertEquals(expected, iommu.seen());
        assertEquals(List.of(101, 6, 103), kvm.events.stream()
                .filter(e -> e.type() == EventType.BIND).map(e -> e.spid()).toList());
    }

    @Test
    @DisplayName("D36, D13, rules 68, 74: freeing the moved set at the source sends FREE, then UNBIND")
    void sourceAfterTheMove() {
        IoasidSet s = vm1();
        Recorder kvm = new Recorder("kvm");
        src.register(kvm, IoasidListener.SCOPE, "set", IoasidListener.SET_TOKEN, "vm1");
        IoasidHandle five = src.core.find(s, 5);
        src.core.get(five); // a device still holds 5
        dst.core.importSet(src.core.exportSet(s));
        assertEquals(3, src.core.freeAllInSet(s));
        assertEquals(false, src.core.freeSet(s), "pending on the device's reference");
        List<String> replay = List.of("ALLOC* 5", "BIND* 5", "ALLOC* 6", "ALLOC* 7", "BIND* 7");
        List<String> seen = new ArrayList<>(replay);
        seen.addAll(List.of("FREE 5", "FREE 6", "FREE 7", "UNBIND 7"));
        assertEquals(seen, kvm.seen(), "the export and the import send nothing at the source");
        src.core.put(five);
        seen.add("UNBIND 5");
        assertEquals(seen, kvm.seen());
        assertEquals(0, src.core.sets().length, "the source set went with its last ID");
        assertEquals(3, dst.core.findSet(TokenType.NONE, "vm1").size());
    }

    @Test
    @DisplayName("D36, D9: the import charges the quota; the whole space is counted")
    void quotaAndCounts() {
        IoasidSet t = dst.core.importSet(src.core.exportSet(vm1()));
        assertEquals(50, t.quota());
        assertEquals(3, t.size());
        assertEquals((1 << 20) - 50, dst.core.capacity().available);
        assertEquals(3, dst.core.stats().live);
        assertEquals(3, dst.core.sets()[0].spids);
        dst.core.alloc(t, 1, 100, null); // the set works on as any other
        assertEquals(4, t.size());
    }

    @Test
    @DisplayName("D36, D8, D19: a token and an owner of the caller's choosing; an MM set needs one")
    void tokenAndOwner() {
        IoasidSet s = src.core.createSet(TokenType.MM, new Object(), 5);
        src.core.alloc(s, 9, 9, null);
        SetExportDTO d = src.core.exportSet(s);
        assertEquals("MM", d.tokenType);
        dst.unchanged(EINVAL, () -> dst.core.importSet(d, null, null));
        Object mm = new Object();
        SetOwner vmm = new SetOwner("vmm");
        IoasidSet t = dst.core.importSet(d, mm, vmm);
        assertSame(t, dst.core.findSet(TokenType.MM, mm));
        dst.unchanged(EPERM, () -> dst.core.freeSet(t));
        IoasidSet anon = dst.core.importSet(src.core.exportSet(vm1()), null, null);
        assertNull(anon.token());
    }

    @Test
    @DisplayName("D36, D8, rule 62: a token in use is EEXIST, a quota beyond the capacity ENOSPC")
    void tokenAndQuotaErrors() {
        SetExportDTO d = src.core.exportSet(vm1());
        dst.core.createSet(TokenType.NONE, "vm1", 1);
        dst.unchanged(EEXIST, () -> dst.core.importSet(d));
        dst.core.reserveCapacity(dst.core.capacity().available - 49);
        dst.unchanged(ENOSPC, () -> dst.core.importSet(d, "vm2", null));
        dst.core.cancelCapacity(1);
        assertEquals(3, dst.core.importSet(d, "vm2", null).size());
    }

    @Test
    @DisplayName("D36: not enough free IDs is ENOSPC, and nothing changes")
    void noRoom() {
        try (IoasidFixture small = new IoasidFixture(4, 10_000)) { // IDs 1-15
            IoasidSet s = src.core.createSet(TokenType.NONE, "vm1", 4);
            for (int i = 0; i < 4; i++) {
                src.core.alloc(s, 1, 100, null);
            }
            SetExportDTO d = src.core.exportSet(s);
            IoasidSet other = small.core.createSet(TokenType.NONE, "other", 12);
            for (int i = 0; i < 12; i++) {
                small.core.alloc(other, 1, 15, null);
            }
            small.unchanged(ENOSPC, () -> small.core.importSet(d));
            small.core.free(other, 12);
            IoasidSet t = small.core.importSet(d);
            assertEquals(List.of("1>12 IDLE 1", "2>13 IDLE 1", "3>14 IDLE 1", "4>15 IDLE 1"),
                    spids(small, t));
        }
    }

    @Test
    @DisplayName("D36, D4: a destination whose IDs a custom allocator picks is EBUSY")
    void customAllocatorActive() {
        SetExportDTO d = src.core.exportSet(vm1());
        SpaceAllocator vcmd = new SpaceAllocator(new SpaceAllocator.Helpers("host"), "a");
        long sid = dst.register(vcmd);
        dst.unchanged(EBUSY, () -> dst.core.importSet(d));
        dst.unregister(vcmd, sid);
        assertEquals(3, dst.core.importSet(d).size(), "the default allocator is back");
    }

    @Test
    @DisplayName("D36: a stopped service is ENODEV")
    void stopped() {
        SetExportDTO d = src.core.exportSet(vm1());
        dst.core.close();
        dst.unchanged(ENODEV, () -> dst.core.importSet(d));
    }

    private void malformed(Consumer<SetExportDTO> change) {
        SetExportDTO d = src.core.exportSet(src.core.findSet(TokenType.NONE, "vm1"));
        change.accept(d);
        dst.unchanged(EINVAL, () -> dst.core.importSet(d));
    }

    private static SetMemberDTO member(int id, int spid, String state, int refs) {
        SetMemberDTO m = new SetMemberDTO();
        m.id = id;
        m.spid = spid;
        m.state = state;
        m.refs = refs;
        return m;
    }

    @Test
    @DisplayName("D36, rule 73: a malformed state is EINVAL and changes nothing")
    void malformedStates() {
        vm1();
        dst.unchanged(EINVAL, () -> dst.core.importSet(null));
        malformed(d -> d.format = 2);
        malformed(d -> d.tokenType = "PASID");
        malformed(d -> d.tokenType = null);
        malformed(d -> d.members = null);
        malformed(d -> d.members[1] = null);
        malformed(d -> d.quota = 0);
        malformed(d -> d.quota = 2);
        malformed(d -> d.members[1].id = 5);
        malformed(d -> d.members[1].spid = 101);
        malformed(d -> d.members[1].id = 0);
        malformed(d -> d.members[1].id = 1 << 20);
        malformed(d -> d.members[1].spid = -1);
        malformed(d -> d.members[1].spid = 1 << 20);
        malformed(d -> d.members[1].state = "FREE_PENDING");
        malformed(d -> d.members[1].state = "FREE");
        malformed(d -> d.members[1].state = "idle");
        malformed(d -> d.members[1].state = null);
        malformed(d -> d.members[1].refs = 2);
        malformed(d -> {
            d.members[1].state = "ACTIVE";
            d.members[1].refs = 1;
        });
        malformed(d -> d.members[2] = member(7, 103, "IDLE", 0));
        // IDs of a wider space do not fit a narrower one
        try (IoasidFixture small = new IoasidFixture(4, 10_000)) {
            SetExportDTO d = src.core.exportSet(src.core.findSet(TokenType.NONE, "vm1"));
            d.members[2] = member(16, 103, "IDLE", 1);
            small.unchanged(EINVAL, () -> small.core.importSet(d));
        }
    }

    @Test
    @DisplayName("D36: the state crosses a wire as it is (Java serialization)")
    void serializable() throws Exception {
        SetExportDTO d = src.core.exportSet(vm1());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(d);
        }
        SetExportDTO back;
        try (ObjectInputStream in = new ObjectInputStream(
                new ByteArrayInputStream(bytes.toByteArray()))) {
            back = (SetExportDTO) in.readObject();
        }
        assertEquals(d.toString(), back.toString());
        assertEquals(List.of("101>5 IDLE 1", "6>6 IDLE 1", "103>7 IDLE 1"),
                spids(dst, dst.core.importSet(back)));
    }
}
