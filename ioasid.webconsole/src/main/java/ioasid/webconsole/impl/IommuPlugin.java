package ioasid.webconsole.impl;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import ioasid.api.iommu.IommuService;

import jakarta.servlet.Servlet;
import jakarta.servlet.http.HttpServletRequest;

/**
 * The Web Console's IOMMU page: backends, groups and their domains and owners, PASID
 * attachments, vIOMMUs and vDevices, the tail of each backend's command log, and the translation
 * probe of the shell's {@code iommu:probe}.
 */
@Component(service = Servlet.class, property = {"felix.webconsole.label=" + IommuPlugin.LABEL,
    "felix.webconsole.title=IOMMU", "felix.webconsole.category=ioasid"})
public final class IommuPlugin extends PagePlugin {
    private static final long serialVersionUID = 1L;
    static final String LABEL = "iommu";

    @Reference
    transient volatile IommuService iommu;

    @Override
    String label() {
        return LABEL;
    }

    @Override
    String data() {
        return IommuView.json(iommu);
    }

    @Override
    String body(String root, String token) {
        String forms = form("iommu-probe", root + "/probe", token,
                "device <input name=\"device\" size=\"14\" list=\"iommu-devices\" required>"
                        + "<datalist id=\"iommu-devices\"></datalist> IOVA <input name=\"iova\" "
                        + "size=\"10\" value=\"0x1000\" required> PASID <input name=\"pasid\" "
                        + "size=\"5\" value=\"0\"> <select name=\"access\"><option value=\"r\">"
                        + "read</option><option value=\"w\">write</option></select>", "Probe");
        String sections = "<section><h3>Backends</h3><div id=\"sec-backends\"></div></section>"
                + "<section><h3>Groups</h3><div id=\"sec-groups\"></div></section><section>"
                + "<h3>PASID attachments</h3><div id=\"sec-pasids\"></div></section><section>"
                + "<h3>vIOMMUs and vDevices</h3><div id=\"sec-viommus\"></div></section>"
                + "<section><h3>Command logs (latest last)</h3><div id=\"sec-logs\"></div>"
                + "</section>";
        return page(root, token, "IOMMU", sections, forms, DEVICES);
    }

    @Override
    String act(String action, HttpServletRequest req) {
        if (!"probe".equals(action)) {
            return null;
        }
        return Actions.probe(iommu, req.getParameter("device"), req.getParameter("iova"),
                req.getParameter("pasid"), req.getParameter("access"));
    }

    /** Offers the devices in the probe form; option values are set as text, never markup. */
    private static final String DEVICES = "window.ioasidPage.draw=function(d){"
            + "var l=document.getElementById('iommu-devices');if(l.childElementCount===d.devices"
            + ".length){return;}l.textContent='';d.devices.forEach(function(n){"
            + "var o=document.createElement('option');o.value=n;l.appendChild(o);});};";
}
