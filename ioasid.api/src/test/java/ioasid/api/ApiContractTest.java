package ioasid.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.CapacityDTO;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;

class ApiContractTest {

    @Test
    @DisplayName("D2: errno names carry the Linux numbers")
    void linuxErrnoNumbers() {
        Map<Errno, Integer> linux = Map.ofEntries(Map.entry(Errno.EPERM, 1),
                Map.entry(Errno.ENOENT, 2), Map.entry(Errno.EINTR, 4), Map.entry(Errno.EIO, 5),
                Map.entry(Errno.E2BIG, 7),
                Map.entry(Errno.EAGAIN, 11), Map.entry(Errno.ENOMEM, 12),
                Map.entry(Errno.EACCES, 13), Map.entry(Errno.EFAULT, 14),
                Map.entry(Errno.EBUSY, 16), Map.entry(Errno.EEXIST, 17),
                Map.entry(Errno.EXDEV, 18), Map.entry(Errno.ENODEV, 19),
                Map.entry(Errno.EINVAL, 22), Map.entry(Errno.ENOSPC, 28),
                Map.entry(Errno.ERANGE, 34), Map.entry(Errno.ENOSYS, 38),
                Map.entry(Errno.EOVERFLOW, 75), Map.entry(Errno.EOPNOTSUPP, 95));
        assertEquals(Errno.values().length, linux.size(), "every errno is checked");
        linux.forEach((e, n) -> assertEquals(n, e.number(), e.name()));
        for (Errno e : Errno.values()) {
            assertFalse(e.text().isEmpty());
        }
    }

    @Test
    @DisplayName("D2: an IoasidException names its errno first and keeps its cause")
    void exception() {
        IllegalStateException cause = new IllegalStateException("x");
        IoasidException e = new IoasidException(Errno.EBUSY, "IOASID 5 is FREE_PENDING", cause);
        assertSame(Errno.EBUSY, e.errno());
        assertEquals("EBUSY: IOASID 5 is FREE_PENDING", e.getMessage());
        assertSame(cause, e.getCause());
        assertTrue(e instanceof RuntimeException);
        assertThrows(NullPointerException.class, () -> new IoasidException(null, "m"));
    }

    @Test
    @DisplayName("rules 1, 33: INVALID is -1, ID 0 is reserved, the space is 20 bits")
    void constants() {
        assertEquals(-1, Ioasid.INVALID);
        assertEquals(0, Ioasid.NO_PASID);
        assertEquals(20, Ioasid.DEFAULT_BITS);
        assertEquals(0xFFFFF, Ioasid.MAX_ID);
    }

    @Test
    @DisplayName("rule 80: the priorities order CPU > IOMMU > DEVICE > LAST")
    void priorities() {
        assertTrue(IoasidListener.PRIORITY_CPU > IoasidListener.PRIORITY_IOMMU);
        assertTrue(IoasidListener.PRIORITY_IOMMU > IoasidListener.PRIORITY_DEVICE);
        assertTrue(IoasidListener.PRIORITY_DEVICE > IoasidListener.PRIORITY_LAST);
    }

    @Test
    @DisplayName("rule 78: an event carries its payload and refuses a missing type, handle or set")
    void event() {
        IoasidSet set = new IoasidSet() {
            @Override
            public int id() {
                return 3;
            }

            @Override
            public TokenType tokenType() {
                return TokenType.NONE;
            }

            @Override
            public Object token() {
                return null;
            }

            @Override
            public int quota() {
                return 1;
            }

            @Override
            public int size() {
                return 0;
            }

            @Override
            public SetState state() {
                return SetState.ACTIVE;
            }
        };
        IoasidHandle handle = new IoasidHandle() {
            @Override
            public int id() {
                return 9;
            }

            @Override
            public IoasidSet set() {
                return set;
            }

            @Override
            public IoasidState state() {
                return IoasidState.IDLE;
            }

            @Override
            public Object privateData() {
                return null;
            }

            @Override
            public int spid() {
                return Ioasid.INVALID;
            }

            @Override
            public int refCount() {
                return 1;
            }

            @Override
            public boolean revoked() {
                return false;
            }
        };
        IoasidEvent e = new IoasidEvent(EventType.BIND, handle, 9, 101, set, "pd", true, 12);
        assertEquals(EventType.BIND, e.type());
        assertSame(handle, e.handle());
        assertEquals(9, e.id());
        assertEquals(101, e.spid());
        assertSame(set, e.set());
        assertEquals("pd", e.privateData());
        assertTrue(e.replay());
        assertEquals(12, e.sequence());
        assertEquals("BIND(replay) id=9 spid=101 set=3 seq=12", e.toString());
        assertThrows(NullPointerException.class,
                () -> new IoasidEvent(null, handle, 9, 1, set, null, false, 1));
        assertThrows(NullPointerException.class,
                () -> new IoasidEvent(EventType.FREE, null, 9, 1, set, null, false, 1));
        assertThrows(NullPointerException.class,
                () -> new IoasidEvent(EventType.FREE, handle, 9, 1, null, null, false, 1));
    }

    @Test
    @DisplayName("a device's configuration form: defaults, hex numbers, and clear errors")
    void deviceSpec() {
        ioasid.api.iommu.spi.DeviceInfo d = ioasid.api.iommu.spi.DeviceInfo.parse(
                "0000:00:03.0;sid=0x18;group=gpu;pasid=20", 0);
        assertEquals("0000:00:03.0", d.name());
        assertEquals(0x18, d.streamId());
        assertEquals("gpu", d.groupKey());
        assertEquals(20, d.pasidBits());
        ioasid.api.iommu.spi.DeviceInfo plain = ioasid.api.iommu.spi.DeviceInfo.parse(" nic0 ", 7);
        assertEquals("nic0", plain.name());
        assertEquals("nic0", plain.groupKey());
        assertEquals(7, plain.streamId());
        assertEquals(0, plain.pasidBits());
        for (String bad : new String[] {"", "  ", "dev;sid", "dev;sid=zz", "dev;color=red",
                "dev;pasid=21", "dev;sid=-1"}) {
            assertThrows(IllegalArgumentException.class,
                    () -> ioasid.api.iommu.spi.DeviceInfo.parse(bad, 0), bad);
        }
        assertThrows(IllegalArgumentException.class,
                () -> ioasid.api.iommu.spi.DeviceInfo.parse(null, 0));
    }

    @Test
    @DisplayName("rule 40: domain type names for display and for sysfs")
    void domainTypeNames() {
        assertEquals("Passthrough", ioasid.api.iommu.DomainType.IDENTITY.displayName());
        assertEquals("Translated", ioasid.api.iommu.DomainType.DMA_FQ.displayName());
        assertEquals("DMA-FQ", ioasid.api.iommu.DomainType.DMA_FQ.sysfsName());
        assertEquals("blocked", ioasid.api.iommu.DomainType.BLOCKED.sysfsName());
        assertTrue(ioasid.api.iommu.DomainType.UNMANAGED.isPaging());
        assertFalse(ioasid.api.iommu.DomainType.IDENTITY.isPaging());
    }

    @Test
    @DisplayName("the IOTLB gather widens to cover every range and keeps the smallest granule")
    void gather() {
        ioasid.api.iommu.spi.IotlbGather g = new ioasid.api.iommu.spi.IotlbGather();
        assertTrue(g.isEmpty());
        g.add(0x5000, 0x1000, 0x1000);
        g.add(0x200000, 0x200000, 0x200000);
        assertEquals(0x5000, g.start());
        assertEquals(0x3FFFFF, g.end());
        assertEquals(0x1000, g.pgsize());
        g.reset();
        assertTrue(g.isEmpty());
    }

    @Test
    @DisplayName("D19: a set owner has a label fit for a table column and is known by identity")
    void setOwner() {
        SetOwner o = new SetOwner("iommu-core");
        assertEquals("iommu-core", o.label());
        assertEquals("iommu-core", o.toString());
        assertFalse(o.equals(new SetOwner("iommu-core")), "the key is the object, not its label");
        for (String bad : new String[] {null, "", "iommu core", "tab\tbed", "line\n", "\u0007"}) {
            IoasidException e = assertThrows(IoasidException.class, () -> new SetOwner(bad),
                    String.valueOf(bad));
            assertSame(Errno.EINVAL, e.errno());
        }
    }

    @Test
    @DisplayName("DTOs are plain copies with readable text")
    void dtos() {
        CapacityDTO c = new CapacityDTO();
        c.capacity = 10;
        c.available = 4;
        assertTrue(c.toString().contains("\"available\":4"), c.toString());
        AllocatorDTO a = new AllocatorDTO();
        assertNull(a.state);
        assertEquals("WAITING", AllocatorDTO.WAITING);
    }
}
