package ioasid.webconsole.impl;

import org.owasp.encoder.Encode;

/**
 * HTML tables of the pages, every text escaped by the OWASP encoder as it is added: nothing a
 * set token, a device name or a backend's message holds can become markup.
 */
final class Html {
    private final StringBuilder sb = new StringBuilder();

    /** Opens a table with the given column heads; id names it for the browser test. */
    static Html table(String id, String... heads) {
        Html h = new Html();
        h.sb.append("<table class=\"nicetable ioasid\" id=\"")
                .append(Encode.forHtmlAttribute(id)).append("\"><thead><tr>");
        for (String head : heads) {
            h.sb.append("<th>").append(Encode.forHtml(head)).append("</th>");
        }
        h.sb.append("</tr></thead><tbody>");
        return h;
    }

    /** One row of plain cells; null shows as "-". */
    Html row(Object... cells) {
        sb.append("<tr>");
        for (Object c : cells) {
            cell(c);
        }
        sb.append("</tr>");
        return this;
    }

    Html open() {
        sb.append("<tr>");
        return this;
    }

    Html cell(Object text) {
        sb.append("<td>").append(text(text)).append("</td>");
        return this;
    }

    /** A cell with a bar filled to used/of (a quota), and the text beside it. */
    Html bar(long used, long of, String text) {
        long pct = of <= 0 ? 0 : Math.min(100, used * 100 / of);
        sb.append("<td><span class=\"bar\"><span style=\"width:").append(pct)
                .append("%\"></span></span> ").append(text(text)).append("</td>");
        return this;
    }

    /** A cell with a colour swatch (a set's colour in the picture) before the text. */
    Html swatch(int setId, Object text) {
        sb.append("<td><span class=\"swatch\" style=\"background:").append(colour(setId))
                .append("\"></span> ").append(text(text)).append("</td>");
        return this;
    }

    Html close() {
        sb.append("</tr>");
        return this;
    }

    /** A row spanning the table, for an empty one. */
    Html note(int columns, String text) {
        sb.append("<tr><td colspan=\"").append(columns).append("\">").append(text(text))
                .append("</td></tr>");
        return this;
    }

    String done() {
        return sb.append("</tbody></table>").toString();
    }

    static String text(Object o) {
        return Encode.forHtml(o == null ? "-" : String.valueOf(o));
    }

    /**
     * The colour of a set in the picture of the ID space: hues spread by the golden angle, so
     * that neighbouring set IDs differ. The page's script computes the same.
     */
    static String colour(int setId) {
        return "hsl(" + Math.floorMod(setId * 137, 360) + ",70%,45%)";
    }
}
