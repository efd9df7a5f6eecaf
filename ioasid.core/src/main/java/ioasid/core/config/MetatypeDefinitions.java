package ioasid.core.config;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;

import org.osgi.framework.Bundle;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * The Metatype definitions a bundle declares in {@code OSGI-INF/metatype}, read as written: per
 * designated PID, each attribute's type, cardinality, range and options. They are generated
 * from the components' {@code @AttributeDefinition}s, so the rules an operator's configuration
 * must follow live there alone.
 */
final class MetatypeDefinitions {
    /** One attribute definition. */
    static final class Attribute {
        final String id;
        final String type;
        final int cardinality;
        final String min;
        final String max;
        final List<String> options;

        Attribute(String id, String type, int cardinality, String min, String max,
                List<String> options) {
            this.id = id;
            this.type = type;
            this.cardinality = cardinality;
            this.min = min;
            this.max = max;
            this.options = options;
        }
    }

    /** The attributes of one designated PID (or factory PID), in declaration order. */
    static final class Definition {
        final String pid;
        final Map<String, Attribute> attributes;

        Definition(String pid, Map<String, Attribute> attributes) {
            this.pid = pid;
            this.attributes = attributes;
        }
    }

    private MetatypeDefinitions() {
    }

    /** Every definition of the bundle, by PID and factory PID; empty when it declares none. */
    static Map<String, Definition> of(Bundle bundle) {
        Map<String, Definition> out = new HashMap<>();
        Enumeration<URL> files = bundle.findEntries("OSGI-INF/metatype", "*.xml", false);
        while (files != null && files.hasMoreElements()) {
            URL url = files.nextElement();
            try (InputStream in = url.openStream()) {
                read(in, out);
            } catch (IOException | ParserConfigurationException | SAXException e) {
                // a definition that cannot be read checks nothing; Metatype itself reports it
            }
        }
        return out;
    }

    static void read(InputStream in, Map<String, Definition> out)
            throws IOException, ParserConfigurationException, SAXException {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(false);
        f.setExpandEntityReferences(false);
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        Document doc = f.newDocumentBuilder().parse(in);
        Map<String, Map<String, Attribute>> ocds = new HashMap<>();
        NodeList ocdNodes = doc.getElementsByTagName("OCD");
        for (int i = 0; i < ocdNodes.getLength(); i++) {
            Element ocd = (Element) ocdNodes.item(i);
            Map<String, Attribute> ads = new LinkedHashMap<>();
            NodeList adNodes = ocd.getElementsByTagName("AD");
            for (int j = 0; j < adNodes.getLength(); j++) {
                Element ad = (Element) adNodes.item(j);
                List<String> options = new ArrayList<>();
                NodeList opts = ad.getElementsByTagName("Option");
                for (int k = 0; k < opts.getLength(); k++) {
                    options.add(((Element) opts.item(k)).getAttribute("value"));
                }
                String card = ad.getAttribute("cardinality");
                ads.put(ad.getAttribute("id"), new Attribute(ad.getAttribute("id"),
                        ad.getAttribute("type").isEmpty() ? "String" : ad.getAttribute("type"),
                        card.isEmpty() ? 0 : Integer.parseInt(card), blank(ad, "min"),
                        blank(ad, "max"), Collections.unmodifiableList(options)));
            }
            ocds.put(ocd.getAttribute("id"), Collections.unmodifiableMap(ads));
        }
        NodeList designates = doc.getElementsByTagName("Designate");
        for (int i = 0; i < designates.getLength(); i++) {
            Element d = (Element) designates.item(i);
            String pid = d.getAttribute("factoryPid").isEmpty() ? d.getAttribute("pid")
                    : d.getAttribute("factoryPid");
            NodeList objects = d.getElementsByTagName("Object");
            if (pid.isEmpty() || objects.getLength() == 0) {
                continue;
            }
            Map<String, Attribute> ads = ocds.get(((Element) objects.item(0))
                    .getAttribute("ocdref"));
            if (ads != null) {
                out.put(pid, new Definition(pid, ads));
            }
        }
    }

    private static String blank(Element e, String attribute) {
        String v = e.getAttribute(attribute);
        return v.isEmpty() ? null : v;
    }
}
