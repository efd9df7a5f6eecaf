package ioasid.webconsole.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.dto.CapacityDTO;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/** The forms: the shell's calls and answers, typed errors, and the token they need. */
class ActionsTest {
    /** A set of IDs 1..limit, allocated lowest first; freed ones are recorded. */
    static final class Space {
        final int limit;
        final List<Integer> live = new ArrayList<>();
        final List<Integer> freed = new ArrayList<>();
        final IoasidSet set = Stub.of(IoasidSet.class, Map.of("id", x -> 2));

        Space(int limit) {
            this.limit = limit;
        }

        IoasidHandle handle(int id) {
            return Stub.of(IoasidHandle.class, Map.of("id", x -> id, "state",
                    x -> live.contains(id) ? IoasidState.ACTIVE : IoasidState.FREE,
                    "refCount", x -> 0));
        }

        IoasidService service() {
            CapacityDTO cap = new CapacityDTO();
            cap.maxId = (1 << 20) - 1;
            Map<String, Function<Object[], Object>> m = new HashMap<>();
            m.put("capacity", x -> cap);
            m.put("findSet", x -> {
                if (!Integer.valueOf(2).equals(x[0])) {
                    throw new IoasidException(Errno.ENOENT, "no set " + x[0]);
                }
                return set;
            });
            m.put("alloc", x -> {
                for (int id = 1; id <= limit; id++) {
                    if (!live.contains(id)) {
                        live.add(id);
                        return handle(id);
                    }
                }
                throw new IoasidException(Errno.ENOSPC, "set 2 is full");
            });
            m.put("find", x -> {
                int id = (Integer) x[1];
                if (!live.contains(id)) {
                    throw new IoasidException(Errno.ENOENT, "unknown IOASID " + id);
                }
                return handle(id);
            });
            m.put("free", x -> {
                int id = ((IoasidHandle) x[0]).id();
                live.remove(Integer.valueOf(id));
                freed.add(id);
                return null;
            });
            return Stub.of(IoasidService.class, m);
        }
    }

    @Test
    @DisplayName("alloc and free answer as ioasid:alloc and ioasid:free do")
    void answersAsTheShell() {
        Space s = new Space(10);
        IoasidService svc = s.service();
        assertEquals("IOASID 1 allocated in set 2", Actions.alloc(svc, "2", "1"));
        assertEquals("3 IOASIDs allocated in set 2: 2-4", Actions.alloc(svc, " 2 ", "3"));
        assertEquals("2 IOASIDs freed", Actions.free(svc, "2,3"));
        assertEquals("IOASID 4 is FREE", Actions.free(svc, "4"));
    }

    @Test
    @DisplayName("typed errors with the shell's messages; a failed multiple allocation frees "
            + "what it took; a free naming an unknown ID frees nothing")
    void errorsLeaveStateUnchanged() {
        Space s = new Space(3);
        IoasidService svc = s.service();
        assertEquals(Errno.ENOENT, assertThrows(IoasidException.class,
                () -> Actions.alloc(svc, "9", "1")).errno());
        IoasidException e = assertThrows(IoasidException.class,
                () -> Actions.alloc(svc, "2", "5"));
        assertEquals("ENOSPC: allocated 3 of 5, freed them again: set 2 is full",
                e.getMessage());
        assertTrue(s.live.isEmpty());
        assertEquals("EINVAL: set 'x<b>' is not a number in [1, 2147483647]",
                assertThrows(IoasidException.class, () -> Actions.alloc(svc, "x<b>", "1"))
                        .getMessage());
        assertEquals(Errno.EINVAL, assertThrows(IoasidException.class,
                () -> Actions.alloc(svc, "2", "0")).errno());
        Actions.alloc(svc, "2", "1");
        assertEquals("ENOENT: unknown IOASID 2", assertThrows(IoasidException.class,
                () -> Actions.free(svc, "1-2")).getMessage());
        assertEquals(List.of(1), s.live, "nothing freed");
        assertEquals(Errno.EINVAL, assertThrows(IoasidException.class,
                () -> Actions.free(svc, "5-3")).errno());
    }

    @Test
    @DisplayName("ID lists, addresses and the probe's access parse as the shell's do")
    void parsing() {
        assertArrayEquals(new int[] {1, 3, 5, 6, 7}, Actions.ids("1, 3,5-7,3"));
        assertEquals(0x1000, Actions.address("0x1000"));
        assertEquals(4096, Actions.address("4096"));
        assertEquals(Errno.EINVAL, assertThrows(IoasidException.class,
                () -> Actions.address("-1")).errno());
        assertEquals(Errno.EINVAL, assertThrows(IoasidException.class,
                () -> Actions.ids("1-100000")).errno());
    }

    /** A POST to the IOASID page with the given form fields and Origin. */
    static String[] post(IoasidPlugin page, String action, Map<String, String> form,
            String origin) throws Exception {
        StringWriter body = new StringWriter();
        int[] status = {200};
        HttpServletRequest req = Stub.of(HttpServletRequest.class, Map.of("getRequestURI",
                x -> "/system/console/ioasid/" + action, "getRemoteUser", x -> "admin",
                "getParameter", x -> form.get((String) x[0]), "getHeader",
                x -> "Origin".equals(x[0]) ? origin : "127.0.0.1:8080"));
        HttpServletResponse resp = Stub.of(HttpServletResponse.class, Map.of("setHeader",
                x -> null, "setContentType", x -> null, "setCharacterEncoding", x -> null,
                "setStatus", x -> status[0] = (Integer) x[0], "getWriter",
                x -> new PrintWriter(body, true)));
        page.doPost(req, resp);
        return new String[] {String.valueOf(status[0]), body.toString()};
    }

    @Test
    @DisplayName("a POST without the page's token, with another, or from another origin is "
            + "refused and changes nothing; with it the action runs; an error is its errno")
    void formsNeedTheToken() throws Exception {
        Space s = new Space(10);
        IoasidPlugin page = new IoasidPlugin();
        page.ioasid = s.service();
        String token = new Csrf(new SecureRandom()).token("admin");
        String[] none = post(page, "alloc", Map.of("set", "2"), null);
        assertEquals("403", none[0]);
        assertTrue(none[1].contains("\"errno\":\"EPERM\""), none[1]);
        assertEquals("403", post(page, "alloc", Map.of("set", "2", "csrf", token), null)[0],
                "another page's key");
        assertTrue(s.live.isEmpty());
        String mine = tokenOf(page);
        assertEquals("403", post(page, "alloc", Map.of("set", "2", "csrf", mine),
                "http://evil.example")[0]);
        assertTrue(s.live.isEmpty());
        String[] ok = post(page, "alloc", Map.of("set", "2", "count", "2", "csrf", mine),
                "http://127.0.0.1:8080");
        assertEquals("200", ok[0]);
        assertEquals("{\"ok\":true,\"errno\":null,\"message\":\"2 IOASIDs allocated in set 2: "
                + "1-2\"}", ok[1]);
        String[] bad = post(page, "free", Map.of("ids", "9", "csrf", mine), null);
        assertEquals("400", bad[0]);
        assertEquals("{\"ok\":false,\"errno\":\"ENOENT\",\"message\":\"ENOENT: unknown IOASID "
                + "9\"}", bad[1]);
        assertFalse(post(page, "nothing", Map.of("csrf", mine), null)[1].contains("true"));
    }

    /** The token the page puts into its forms, read from its GET. */
    static String tokenOf(IoasidPlugin page) throws Exception {
        StringWriter body = new StringWriter();
        HttpServletRequest req = Stub.of(HttpServletRequest.class, Map.of("getRequestURI",
                x -> "/system/console/ioasid", "getRemoteUser", x -> "admin", "getAttribute",
                x -> "/system/console/ioasid"));
        HttpServletResponse resp = Stub.of(HttpServletResponse.class, Map.of("setHeader",
                x -> null, "getWriter", x -> new PrintWriter(body, true)));
        page.doGet(req, resp);
        String html = body.toString();
        int i = html.indexOf("name=\"csrf\" value=\"") + 19;
        assertTrue(html.contains("action=\"/system/console/ioasid/alloc\""), html);
        return html.substring(i, html.indexOf('"', i));
    }
}
