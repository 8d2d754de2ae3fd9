package io.jnbd.tools.info;

import io.jnbd.NbdHandle;
import io.jnbd.tools.Server;
import java.util.ArrayList;
import java.util.List;

/** {@code --list}: every export the server lists (NBD_OPT_LIST), each shown as one export is. */
final class ExportList {
    private ExportList() {
    }

    /** An export as the server lists it. */
    record Entry(String name, String description) {
    }

    /** The server's exports, in its order; fails if it cannot list them. */
    static List<Entry> collect(NbdHandle h) {
        List<Entry> exports = new ArrayList<>();
        h.optList((name, description) -> {
            exports.add(new Entry(name, description));
            return 0;
        });
        return exports;
    }

    /**
     * Shows each export: on {@code h} itself, which stays negotiating, or,
     * when the content is probed (which ends negotiation), on a fresh
     * connection per export. Returns false if some export could not be shown.
     */
    static boolean showAll(List<Entry> exports, NbdHandle h, Server server, boolean probe, ExportReport report,
            boolean json, Spool out) {
        if (exports.isEmpty() && json) {
            out.add("\"exports\": []\n");
        }
        boolean ok = true;
        for (int i = 0; i < exports.size(); i++) {
            Entry e = exports.get(i);
            NbdHandle each = h;
            if (probe) {
                each = new NbdHandle();
                each.setUriAllowLocalFile(true);
                each.setOptMode(true);
                each.setRequestMetaContext(false);
                each.setFullInfo(true);
            }
            try {
                if (probe) {
                    InfoCommand.connect(each, server);
                }
                each.setExportName(e.name());
                ok &= report.show(each, e.description(), i == 0, i + 1 == exports.size());
            } finally {
                if (probe) {
                    InfoCommand.finish(each);
                }
            }
        }
        return ok;
    }
}
