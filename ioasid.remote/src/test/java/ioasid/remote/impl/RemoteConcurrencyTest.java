package ioasid.remote.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.remote.GuestListener;
import ioasid.api.spi.IoasidListener;
import ioasid.core.impl.IoasidCore;

/**
 * Four guests allocate and free on one host from many threads while the host's operator revokes
 * their PASIDs, frees them behind the host service's back and freezes guests for a moment (an
 * export undone), and the guests' links step and hear notices on threads of their own. Random,
 * seeded (-Dioasid.remote.seed=N replays the operator's and the workers' choices, not the
 * threads' timing). Afterwards, once every link has settled: each guest and the host agree on
 * what the guest holds, every handle a worker still has is either the guest's live one for its
 * ID or lost, never live with its ID given to someone else, and the host's IDs are each in one
 * guest's set at most.
 */
class RemoteConcurrencyTest {
    private static final int GUESTS = 4;
    private static final int WORKERS = 2;
    /** allocations, refused allocations, frees of lost handles, revocations, console frees, moves */
    private static final java.util.concurrent.atomic.AtomicLongArray COUNTS =
            new java.util.concurrent.atomic.AtomicLongArray(6);

    /** One guest: its link and space, and what its workers believe they hold. */
    private static final class Guest {
        final String name;
        final GuestLink link;
        final GuestSpace space;
        final GuestNotices notices;
        final IoasidSet set;
        final ConcurrentLinkedQueue<IoasidHandle> kept = new ConcurrentLinkedQueue<>();

        Guest(String name, HostService host) {
            this.name = name;
            link = new GuestLink(() -> host, "127.0.0.1:9301", name, "secret-" + name, () -> { },
                    () -> { });
            space = new GuestSpace(link);
            link.space(space);
            link.listener("tcp://127.0.0.1:4000" + name.charAt(2));
            notices = new GuestNotices(link);
            link.step();
            assertNotNull(link.session(), name + " connected");
            set = space.createSet(TokenType.NONE, "vcmd:" + name, 0);
        }
    }

    @Test
    @Timeout(60)
    void guestsHostAndOperatorInterleaveAndEveryoneAgreesAfterwards() throws Exception {
        long seed = Long.getLong("ioasid.remote.seed", System.nanoTime());
        System.out.println("RemoteConcurrencyTest seed " + seed + " (-Dioasid.remote.seed)");
        String[] entries = new String[GUESTS];
        for (int i = 0; i < GUESTS; i++) {
            entries[i] = "vm" + i + "=" + GuestSecrets.hash("secret-vm" + i);
        }
        IoasidCore core = new IoasidCore(20, 10_000);
        HostService host = new HostService(core, GuestSecrets.parse(entries), 64, 7);
        ExecutorService noticeThread = Executors.newSingleThreadExecutor();
        Map<String, Guest> byEndpoint = new HashMap<>();
        host.listeners(endpoint -> new HostService.Imported() {
            @Override
            public GuestListener listener() {
                return byEndpoint.get(endpoint).notices;
            }

            @Override
            public void close() {
            }
        }, Set.of("127.0.0.1"), noticeThread);
        Map<String, Object> props = new HashMap<>();
        props.put(IoasidListener.EVENTS, "FREE");
        props.put(org.osgi.framework.Constants.SERVICE_ID, 1L);
        core.bindListener(e -> {
            if (!e.replay()) {
                host.freed(e.set(), e.id(), e.spid());
            }
        }, props);
        List<Guest> guests = new ArrayList<>();
        for (int i = 0; i < GUESTS; i++) {
            String endpoint = "tcp://127.0.0.1:4000" + i;
            Guest g;
            synchronized (byEndpoint) {
                g = new Guest("vm" + i, host);
                byEndpoint.put(endpoint, g);
            }
            guests.add(g);
        }

        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        ConcurrentLinkedQueue<Throwable> failed = new ConcurrentLinkedQueue<>();
        Random master = new Random(seed);
        for (Guest g : guests) {
            threads.add(new Thread(() -> {
                while (!stop.get()) {
                    g.link.step();
                    Thread.onSpinWait();
                }
            }, g.name + " link"));
            for (int w = 0; w < WORKERS; w++) {
                long s = master.nextLong();
                threads.add(new Thread(() -> work(g, new Random(s), stop, failed),
                        g.name + " worker"));
            }
        }
        long operatorSeed = master.nextLong();
        threads.add(new Thread(() -> operate(host, core, guests, new Random(operatorSeed), stop,
                failed), "operator"));
        threads.forEach(Thread::start);
        Thread.sleep(Long.getLong("ioasid.remote.millis", 1500));
        stop.set(true);
        for (Thread t : threads) {
            t.join(20_000);
        }
        assertTrue(failed.isEmpty(), "seed " + seed + ": " + failed);
        noticeThread.shutdown();
        assertTrue(noticeThread.awaitTermination(10, TimeUnit.SECONDS));
        for (Guest g : guests) { // settle: notices acted on, a frozen guest back
            for (int i = 0; i < 5; i++) {
                g.link.step();
            }
            assertNotNull(g.link.session(), "seed " + seed + ": " + g.name + " reconnected");
        }

        System.out.println("allocations " + COUNTS.get(0) + ", refused " + COUNTS.get(1)
                + ", frees of lost handles " + COUNTS.get(2) + ", revocations " + COUNTS.get(3)
                + ", console frees " + COUNTS.get(4) + ", moves undone " + COUNTS.get(5));
        for (int i = 0; i < COUNTS.length(); i++) {
            assertTrue(COUNTS.get(i) > 0, "seed " + seed + ": every kind of step happened: "
                    + COUNTS);
        }
        Set<Integer> hostIds = new HashSet<>();
        for (Guest g : guests) {
            int[] spids = g.space.heldSpids();
            assertArrayEquals(spids, host.held(g.link.session()), "seed " + seed + ": " + g.name
                    + " and the host agree");
            for (var d : core.ids(core.findSet(TokenType.NONE, "guest:" + g.name), 100_000)) {
                assertTrue(hostIds.add(d.id), "seed " + seed + ": host ID " + d.id + " twice");
            }
            Set<Integer> live = new HashSet<>();
            for (IoasidHandle h : g.kept) {
                if (h.revoked()) {
                    continue; // lost: the worker's free answers ENOENT
                }
                assertTrue(live.add(h.id()), "seed " + seed + ": two live handles for "
                        + h.id() + " in " + g.name);
                assertSame(h, g.space.find(null, h.id()), "seed " + seed + ": " + g.name
                        + "'s live handle is the space's");
            }
            assertEquals(live.size(), spids.length, "seed " + seed + ": " + g.name
                    + " holds exactly what its workers hold");
        }
    }

    /** Allocates and frees at random; remembers what it holds; EAGAIN and losses are normal. */
    private static void work(Guest g, Random r, AtomicBoolean stop,
            ConcurrentLinkedQueue<Throwable> failed) {
        List<IoasidHandle> mine = new ArrayList<>();
        try {
            while (!stop.get()) {
                if (mine.isEmpty() || r.nextInt(3) > 0 && mine.size() < 12) {
                    try {
                        IoasidHandle h = g.space.alloc(g.set, 1, 200, null);
                        mine.add(h);
                        COUNTS.incrementAndGet(0);
                    } catch (IoasidException e) {
                        COUNTS.incrementAndGet(1);
                        // EAGAIN (paused, reconnecting) or ENOSPC (quota): try again
                    }
                } else {
                    IoasidHandle h = mine.remove(r.nextInt(mine.size()));
                    try {
                        g.space.free(h);
                    } catch (IoasidException e) {
                        COUNTS.incrementAndGet(2);
                        if (!h.revoked()) {
                            throw new AssertionError("free of a live handle " + h.id()
                                    + " failed: " + e.getMessage());
                        }
                    }
                }
            }
            g.kept.addAll(mine);
        } catch (Throwable t) {
            failed.add(t);
        }
    }

    /** The host's operator: revokes, frees behind the service's back, freezes and thaws. */
    private static void operate(HostService host, IoasidCore core, List<Guest> guests, Random r,
            AtomicBoolean stop, ConcurrentLinkedQueue<Throwable> failed) {
        try {
            while (!stop.get()) {
                Guest g = guests.get(r.nextInt(guests.size()));
                IoasidSet set = core.findSet(TokenType.NONE, "guest:" + g.name);
                var ids = core.ids(set, 100);
                int pick = r.nextInt(3);
                if (pick == 0 && ids.length > 0) {
                    var d = ids[r.nextInt(ids.length)];
                    try {
                        host.revoke(g.name, new int[] {d.spid});
                        COUNTS.incrementAndGet(3);
                    } catch (IoasidException e) {
                        // the guest freed it meanwhile
                    }
                } else if (pick == 1 && ids.length > 0) {
                    try {
                        core.free(core.find(set, ids[r.nextInt(ids.length)].id));
                        COUNTS.incrementAndGet(4);
                    } catch (IoasidException e) {
                        // freed meanwhile
                    }
                } else if (pick == 2 && r.nextInt(4) == 0) {
                    host.export(g.name);
                    Thread.sleep(1);
                    host.resume(g.name);
                    COUNTS.incrementAndGet(5);
                }
                Thread.sleep(0, 200_000);
            }
        } catch (Throwable t) {
            failed.add(t);
        }
    }
}
