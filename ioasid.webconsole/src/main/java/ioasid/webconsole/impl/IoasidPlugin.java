package ioasid.webconsole.impl;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import ioasid.api.IoasidService;

import jakarta.servlet.Servlet;
import jakarta.servlet.http.HttpServletRequest;

/**
 * The Web Console's IOASID page: ID spaces and allocators, sets with quota bars, listeners per
 * scope, the counters, a picture of the whole ID space, and forms to allocate and free IOASIDs
 * through the same calls as the shell.
 */
@Component(service = Servlet.class, property = {"felix.webconsole.label=" + IoasidPlugin.LABEL,
    "felix.webconsole.title=IOASID", "felix.webconsole.category=ioasid"})
public final class IoasidPlugin extends PagePlugin {
    private static final long serialVersionUID = 1L;
    static final String LABEL = "ioasid";

    /** The platform's service, as the shell's commands use it (not the host space's). */
    @Reference(target = "(!(ioasid.role=host))")
    transient volatile IoasidService ioasid;

    @Override
    String label() {
        return LABEL;
    }

    @Override
    String data() {
        return IoasidView.json(ioasid);
    }

    @Override
    String body(String root, String token) {
        String forms = form("ioasid-alloc", root + "/alloc", token,
                "set <input name=\"set\" size=\"4\" required> count <input name=\"count\" "
                        + "size=\"5\" value=\"1\">", "Allocate")
                + form("ioasid-free", root + "/free", token,
                        "IOASIDs <input name=\"ids\" size=\"12\" placeholder=\"7, 1-9\" "
                                + "required>", "Free");
        String sections = "<section><h3>ID space</h3><canvas id=\"ioasid-picture\" "
                + "width=\"1024\" height=\"256\" data-live=\"0\"></canvas><p><small>Each "
                + "cell is a bucket of consecutive IDs, coloured by the set holding most of "
                + "it, darker when fuller; grey is free.</small></p></section>"
                + "<section id=\"sec-stats\"></section><section><h3>ID spaces and "
                + "allocators</h3><div id=\"sec-spaces\"></div></section><section><h3>Sets"
                + "</h3><div id=\"sec-sets\"></div></section><section><h3>Listeners, in chain "
                + "order per scope</h3><div id=\"sec-listeners\"></div></section>";
        return page(root, token, "IOASID", sections, forms, PICTURE);
    }

    @Override
    String act(String action, HttpServletRequest req) {
        switch (action) {
            case "alloc":
                return Actions.alloc(ioasid, req.getParameter("set"), req.getParameter("count"));
            case "free":
                return Actions.free(ioasid, req.getParameter("ids"));
            default:
                return null;
        }
    }

    /**
     * Draws the occupancy summary on the canvas: one cell per bucket, 128 a row, the set's hue
     * as Html.colour computes it, lighter when the bucket is less full.
     */
    private static final String PICTURE = "window.ioasidPage.draw=function(d){"
            + "var o=d.occupancy,c=document.getElementById('ioasid-picture');"
            + "var g=c.getContext('2d'),n=o.live.length,cols=128,rows=Math.ceil(n/cols);"
            + "var w=c.width/cols,h=c.height/rows,total=0;"
            + "for(var i=0;i<n;i++){var l=o.live[i];total+=l;"
            + "if(l===0){g.fillStyle='#e4e4e4';}else{var f=l/o.bucketSize;"
            + "g.fillStyle='hsl('+((o.dominantSet[i]*137)%360)+',70%,'"
            + "+Math.round(80-35*f)+'%)';}"
            + "g.fillRect((i%cols)*w,Math.floor(i/cols)*h,w-0.5,h-0.5);}"
            + "c.dataset.live=String(total);};";
}
