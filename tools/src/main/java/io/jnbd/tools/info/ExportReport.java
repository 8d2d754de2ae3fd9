package io.jnbd.tools.info;

import io.jnbd.BlockSize;
import io.jnbd.NbdException;
import io.jnbd.NbdHandle;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One export's part of nbdinfo's default output (text or JSON): its name,
 * size, content, URI, meta contexts, flags and block sizes, in nbdinfo's
 * order, each field only when nbdinfo shows it.
 */
final class ExportReport {
    private final Spool out;
    private final PrintStream err;
    private final String prog;
    private final boolean json;
    private final boolean listing;
    private final boolean showUri;
    private final Content content;

    /**
     * @param listing whether this is one export of {@code --list} (a failure then
     *                names no {@code --list} suggestion)
     * @param showUri whether a URI line is meaningful: the server was named by a URI,
     *                not run as a subprocess that ends with this tool
     * @param content the content probe, or null for none
     */
    ExportReport(Spool out, PrintStream err, String prog, boolean json, boolean listing, boolean showUri,
            Content content) {
        this.out = out;
        this.err = err;
        this.prog = prog;
        this.json = json;
        this.listing = listing;
        this.showUri = showUri;
        this.content = content;
    }

    /**
     * Shows the export {@code h} is set to. {@code desc} is the description
     * from the export list, or null to ask the server. Returns false (having
     * said why on stderr) if the server refuses the export.
     */
    boolean show(NbdHandle h, String desc, boolean first, boolean last) {
        if (h.aioIsNegotiating()) {
            // The contexts are listed below; NBD_OPT_INFO need not set any.
            h.setRequestMetaContext(false);
            if (!infoOrGo(h)) {
                return false;
            }
        }
        long size = h.getSize();
        String uri = showUri ? h.getUri() : null;
        String name = h.getCanonicalExportName();
        if (desc == null) {
            desc = description(h);
        }
        Map<String, Boolean> flags = new LinkedHashMap<>();
        flags.put("is_rotational", h.isRotational());
        flags.put("is_read_only", h.isReadOnly());
        flags.put("can_block_status_payload", h.canBlockStatusPayload());
        flags.put("can_cache", h.canCache());
        flags.put("can_df", h.canDf());
        flags.put("can_fast_zero", h.canFastZero());
        flags.put("can_flush", h.canFlush());
        flags.put("can_fua", h.canFua());
        flags.put("can_multi_conn", h.canMultiConn());
        flags.put("can_trim", h.canTrim());
        flags.put("can_zero", h.canZero());
        Map<String, Long> blockSizes = new LinkedHashMap<>();
        blockSizes.put("block_size_minimum", h.getBlockSize(BlockSize.MINIMUM));
        blockSizes.put("block_size_preferred", h.getBlockSize(BlockSize.PREFERRED));
        blockSizes.put("block_size_maximum", h.getBlockSize(BlockSize.MAXIMUM));
        List<String> contexts = contexts(h);
        // Last: probing the content moves the handle out of negotiation.
        String probed = content == null ? null : content.probe(h, size);

        var e = new Export(name, desc, size, probed, uri, contexts, flags, blockSizes);
        if (json) {
            json(e, first, last);
        } else {
            text(e);
        }
        return true;
    }

    /** What is shown of one export, in nbdinfo's order; null fields are left out. */
    private record Export(String name, String desc, long size, String content, String uri, List<String> contexts,
            Map<String, Boolean> flags, Map<String, Long> blockSizes) {
    }

    /** NBD_OPT_INFO, or NBD_OPT_GO where the server has no INFO (old newstyle servers). */
    private boolean infoOrGo(NbdHandle h) {
        try {
            h.optInfo();
            return true;
        } catch (NbdException infoFailed) {
            try {
                h.optGo();
                return true;
            } catch (NbdException e) {
                String export = h.getExportName();
                err.println(prog + ": " + e.getMessage()
                        + (export.isEmpty() ? " for the default export" : " for export: " + export));
                if (!listing) {
                    err.println(prog + ": suggestion: to list all exports on the server, use --list");
                }
                return false;
            }
        }
    }

    private static String description(NbdHandle h) {
        try {
            return h.getExportDescription();
        } catch (NbdException e) {
            return null; // the server sent none
        }
    }

    /** The meta contexts the server offers, or null where it cannot list them (oldstyle, already connected). */
    private static List<String> contexts(NbdHandle h) {
        List<String> names = new ArrayList<>();
        try {
            h.optListMetaContext(name -> {
                names.add(name);
                return 0;
            });
            return names;
        } catch (NbdException e) {
            return null;
        }
    }

    private void text(Export e) {
        // nbdinfo 1.22.2's colours: magenta from the name to the content, green or red for each can_* flag.
        out.colour(Spool.BRIGHT_MAGENTA).add("export=").json(e.name()).add(":\n");
        if (e.desc() != null && !e.desc().isEmpty()) {
            out.add("\tdescription: ").add(e.desc()).add('\n');
        }
        out.add(sizeLine("export-size", e.size()));
        if (e.content() != null) {
            out.add("\tcontent: ").add(e.content()).add('\n');
        }
        out.restore();
        if (e.uri() != null) {
            out.add("\turi: ").add(e.uri()).add('\n');
        }
        if (e.contexts() != null) {
            out.add("\tcontexts:\n");
            e.contexts().forEach(c -> out.add("\t\t").add(c).add('\n'));
        }
        e.flags().forEach((flag, value) -> {
            String line = "\t" + flag + ": " + value + "\n";
            if (flag.startsWith("can_")) {
                out.colour(value ? Spool.GREEN : Spool.RED).add(line).restore();
            } else {
                out.add(line);
            }
        });
        e.blockSizes().forEach((what, bytes) -> {
            if (bytes > 0) {
                out.add(sizeLine(what, bytes));
            }
        });
    }

    /** "\tLABEL: BYTES (ABBREVIATED)" or, where it cannot be abbreviated, "\tLABEL: BYTES". */
    private static String sizeLine(String label, long bytes) {
        String abbreviated = Numbers.humanSize(bytes);
        return "\t" + label + ": " + bytes + (abbreviated != null ? " (" + abbreviated + ")" : "") + "\n";
    }

    private void json(Export e, boolean first, boolean last) {
        if (first) {
            out.add("\"exports\": [\n");
        }
        out.add("\t{\n");
        out.add("\t\"export-name\": ").json(e.name()).add(",\n");
        if (e.desc() != null && !e.desc().isEmpty()) {
            out.add("\t\"description\": ").json(e.desc()).add(",\n");
        }
        if (e.content() != null) {
            out.add("\t\"content\": ").json(e.content()).add(",\n");
        }
        if (e.uri() != null) {
            out.add("\t\"uri\": ").json(e.uri()).add(",\n");
        }
        if (e.contexts() != null) {
            out.add("\t\"contexts\": [\n");
            for (int i = 0; i < e.contexts().size(); i++) {
                out.add("\t\t").json(e.contexts().get(i)).add(i + 1 < e.contexts().size() ? ",\n" : "\n");
            }
            out.add("\t],\n");
        }
        e.flags().forEach((flag, value) -> out.add("\t\"" + flag + "\": " + value + ",\n"));
        e.blockSizes().forEach((what, bytes) -> {
            if (bytes > 0) {
                out.add("\t\"" + what + "\": " + bytes + ",\n");
            }
        });
        out.add("\t\"export-size\": " + e.size() + ",\n");
        String human = Numbers.humanSize(e.size());
        out.add("\t\"export-size-str\": \"" + (human != null ? human : Long.toString(e.size())) + "\"\n");
        out.add(last ? "\t} ]\n" : "\t},\n");
    }
}
