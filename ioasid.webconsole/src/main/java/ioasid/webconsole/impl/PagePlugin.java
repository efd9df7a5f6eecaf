package ioasid.webconsole.impl;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

import org.owasp.encoder.Encode;

import ioasid.api.IoasidException;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * What both pages share: GET without an extension is the page (the console frames it), GET of
 * {@code data.json} the page's data, and a POST an action, answered in JSON. An action needs the
 * page's token ({@link Csrf}) and, when the browser names one, the console's own origin; a
 * refused or failed action changes nothing and answers the errno's message, as the shell does.
 */
abstract class PagePlugin extends HttpServlet {
    private static final long serialVersionUID = 1L;
    /** The console's request attribute with the URL of this plug-in's page. */
    static final String PLUGIN_ROOT = "felix.webconsole.pluginRoot";

    private final transient Csrf csrf = new Csrf(new SecureRandom());

    /** The page's label: its path below the console. */
    abstract String label();

    /** The page's data, as JSON. */
    abstract String data();

    /** The page's body, with the forms carrying the token. */
    abstract String body(String root, String token);

    /** The action the path names, or null when there is none; returns its message. */
    abstract String act(String action, HttpServletRequest req);

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        resp.setHeader("Cache-Control", "no-store");
        if (req.getRequestURI().endsWith("/data.json")) {
            resp.setContentType("application/json");
            resp.setCharacterEncoding("UTF-8");
            resp.getWriter().write(data());
            return;
        }
        if (req.getRequestURI().endsWith(".json")) {
            resp.sendError(HttpServletResponse.SC_NOT_FOUND);
            return;
        }
        Object root = req.getAttribute(PLUGIN_ROOT);
        String r = root != null ? root.toString()
                : req.getContextPath() + req.getServletPath() + "/" + label();
        PrintWriter w = resp.getWriter();
        w.write(body(r, csrf.token(req.getRemoteUser())));
    }

    @Override
    protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        resp.setHeader("Cache-Control", "no-store");
        resp.setContentType("application/json");
        resp.setCharacterEncoding("UTF-8");
        if (!sameOrigin(req) || !csrf.valid(req.getRemoteUser(), req.getParameter(Csrf.FIELD))) {
            resp.setStatus(HttpServletResponse.SC_FORBIDDEN);
            resp.getWriter().write(answer(false, "EPERM", "EPERM: the form's token is missing "
                    + "or stale; reload the page"));
            return;
        }
        String uri = req.getRequestURI();
        String action = uri.substring(uri.lastIndexOf('/') + 1);
        try {
            String message = act(action, req);
            if (message == null) {
                resp.setStatus(HttpServletResponse.SC_NOT_FOUND);
                resp.getWriter().write(answer(false, "ENOENT", "ENOENT: no action " + action));
                return;
            }
            resp.getWriter().write(answer(true, null, message));
        } catch (IoasidException e) {
            resp.setStatus(HttpServletResponse.SC_BAD_REQUEST);
            resp.getWriter().write(answer(false, e.errno().name(), e.getMessage()));
        }
    }

    static String answer(boolean ok, String errno, String message) {
        return new Json().object().field("ok", ok).field("errno", errno)
                .field("message", message).end().toString();
    }

    /** A browser names the page's origin; another origin's form is refused. */
    static boolean sameOrigin(HttpServletRequest req) {
        String origin = req.getHeader("Origin");
        if (origin == null || origin.isEmpty()) {
            return true;
        }
        try {
            URI o = new URI(origin);
            String host = req.getHeader("Host");
            return host != null && host.equalsIgnoreCase(o.getRawAuthority());
        } catch (URISyntaxException e) {
            return false;
        }
    }

    /** The page's frame: styles, sections filled from the data, forms, the script. */
    static String page(String root, String token, String title, String sections, String forms,
            String script) {
        String r = Encode.forHtmlAttribute(root);
        return "<style>" + STYLE + "</style><div class=\"ioasid-page\" data-root=\"" + r
                + "\" data-csrf=\"" + Encode.forHtmlAttribute(token) + "\"><h2>"
                + Encode.forHtml(title) + " <small id=\"ioasid-updated\"></small></h2>" + forms
                + "<p id=\"ioasid-message\" role=\"status\"></p>" + sections + "</div><script>"
                + new String(SCRIPT, StandardCharsets.UTF_8) + script + "</script>";
    }

    static String form(String id, String action, String token, String fields, String button) {
        return "<form class=\"ioasid-form\" id=\"" + id + "\" method=\"post\" action=\""
                + Encode.forHtmlAttribute(action) + "\">" + fields
                + "<input type=\"hidden\" name=\"" + Csrf.FIELD + "\" value=\""
                + Encode.forHtmlAttribute(token) + "\"><button type=\"submit\">"
                + Encode.forHtml(button) + "</button></form>";
    }

    private static final String STYLE = ".ioasid-page section{margin:1em 0}"
            + ".ioasid-page .bar{display:inline-block;width:8em;height:.8em;background:#ddd;"
            + "vertical-align:middle}.ioasid-page .bar span{display:block;height:100%;"
            + "background:#4a7}.ioasid-page .swatch{display:inline-block;width:.9em;"
            + "height:.9em;vertical-align:middle}.ioasid-page form{display:inline-block;"
            + "margin:.3em 1em .3em 0}.ioasid-page #ioasid-message{font-family:monospace}"
            + ".ioasid-page .error{color:#b00}.ioasid-page canvas{border:1px solid #999;"
            + "image-rendering:pixelated}";

    /**
     * The shared script: polls data.json every two seconds, puts the tables the server rendered
     * (escaped there) into their sections, and sends the forms with fetch, showing the answer as
     * text. Each page adds its own drawing.
     */
    private static final byte[] SCRIPT = ("(function(){"
            + "var page=document.querySelector('.ioasid-page');"
            // the origin, never the page's URL: one with user:password@ would make fetch fail
            + "var root=location.origin+page.dataset.root;"
            + "window.ioasidPage={draw:null,refresh:refresh};"
            + "function refresh(){return fetch(root+'/data.json',{credentials:'same-origin',"
            + "cache:'no-store'}).then(function(r){return r.json();}).then(function(d){"
            + "for(var k in d.html){var s=document.getElementById('sec-'+k);"
            + "if(s){s.innerHTML=d.html[k];}}if(window.ioasidPage.draw){"
            + "window.ioasidPage.draw(d);}document.getElementById('ioasid-updated').textContent="
            + "'updated '+new Date().toLocaleTimeString();});}"
            + "document.querySelectorAll('.ioasid-form').forEach(function(f){"
            + "f.addEventListener('submit',function(e){e.preventDefault();"
            + "var m=document.getElementById('ioasid-message');"
            + "fetch(location.origin+f.getAttribute('action'),{method:'POST',"
            + "credentials:'same-origin',"
            + "body:new URLSearchParams(new FormData(f))}).then(function(r){return r.json();})"
            + ".then(function(a){m.textContent=a.message;m.className=a.ok?'ok':'error';"
            + "return refresh();}).catch(function(x){m.textContent=String(x);"
            + "m.className='error';});});});"
            + "refresh();setInterval(refresh,2000);})();").getBytes(StandardCharsets.UTF_8);
}
