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

        String human = Numbers.humanSize(size);
        if (json) {
            json(name, desc, probed, uri, contexts, flags, blockSizes, size, human, first, last);
        } else {
            text(name, desc, probed, uri, contexts, flags, blockSizes, size, human);
        }
        return true;
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

    private void text(String name, String desc, String probed, String uri, List<String> contexts,
            Map<String, Boolean> flags, Map<String, Long> blockSizes, long size, String human) {
        // nbdinfo 1.22.2's colours: magenta from the name to the content, green or red for each can_* flag.
        out.colour(Spool.BRIGHT_MAGENTA).add("export=").json(name).add(":\n");
        if (desc != null && !desc.isEmpty()) {
            out.add("\tdescription: ").add(desc).add('\n');
        }
        out.add("\texport-size: ").add(Long.toString(size)).add(human != null ? " (" + human + ")\n" : "\n");
        if (probed != null) {
            out.add("\tcontent: ").add(probed).add('\n');
        }
        out.restore();
        if (uri != null) {
            out.add("\turi: ").add(uri).add('\n');
        }
        if (contexts != null) {
            out.add("\tcontexts:\n");
            contexts.forEach(c -> out.add("\t\t").add(c).add('\n'));
        }
        flags.forEach((flag, value) -> {
            String line = "\t" + flag + ": " + value + "\n";
            if (flag.startsWith("can_")) {
                out.colour(value ? Spool.GREEN : Spool.RED).add(line).restore();
            } else {
                out.add(line);
            }
        });
        blockSizes.forEach((what, bytes) -> {
            if (bytes > 0) {
                String abbreviated = Numbers.humanSize(bytes);
                out.add('\t' + what + ": " + bytes + (abbreviated != null ? " (" + abbreviated + ")\n" : "\n"));
            }
        });
    }

    private void json(String name, String desc, String probed, String uri, List<String> contexts,
            Map<String, Boolean> flags, Map<String, Long> blockSizes, long size, String human,
            boolean first, boolean last) {
        if (first) {
            out.add("\"exports\": [\n");
        }
        out.add("\t{\n");
        out.add("\t\"export-name\": ").json(name).add(",\n");
        if (desc != null && !desc.isEmpty()) {
            out.add("\t\"description\": ").json(desc).add(",\n");
        }
        if (probed != null) {
            out.add("\t\"content\": ").json(probed).add(",\n");
        }
        if (uri != null) {
            out.add("\t\"uri\": ").json(uri).add(",\n");
        }
        if (contexts != null) {
            out.add("\t\"contexts\": [\n");
            for (int i = 0; i < contexts.size(); i++) {
                out.add("\t\t").json(contexts.get(i)).add(i + 1 < contexts.size() ? ",\n" : "\n");
            }
            out.add("\t],\n");
        }
        flags.forEach((flag, value) -> out.add("\t\"" + flag + "\": " + value + ",\n"));
        blockSizes.forEach((what, bytes) -> {
            if (bytes > 0) {
                out.add("\t\"" + what + "\": " + bytes + ",\n");
            }
        });
        out.add("\t\"export-size\": " + size + ",\n");
        out.add("\t\"export-size-str\": \"" + (human != null ? human : Long.toString(size)) + "\"\n");
        out.add(last ? "\t} ]\n" : "\t},\n");
    }
}
