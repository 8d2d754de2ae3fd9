package io.jnbd.tools.info;

import io.jnbd.BlockSize;
import io.jnbd.NbdException;
import io.jnbd.NbdExtent;
import io.jnbd.NbdHandle;
import io.jnbd.tools.ToolException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --map[=CONTEXT]} and {@code --map --totals}: the export's extents
 * in one meta context, adjacent extents of one type merged, or the bytes of
 * each type; text or JSON, as nbdinfo prints them.
 */
final class ExtentMap {
    private static final List<String> BASE_ALLOCATION = List.of("data", "hole", "zero", "hole,zero");

    private final String context;
    private final long size;
    private final List<NbdExtent> extents;

    private ExtentMap(String context, long size, List<NbdExtent> extents) {
        this.context = context;
        this.size = size;
        this.extents = extents;
    }

    /** Reads the whole map of {@code context} from {@code h}, which asked for that context before connecting. */
    static ExtentMap read(NbdHandle h, String context) {
        if (h.aioIsNegotiating()) {
            h.optGo();
        }
        if (!agreed(h, context)) {
            throw new ToolException(1, "--map: server does not support metadata context \"" + context + "\"");
        }
        long align = h.getBlockSize(BlockSize.MINIMUM);
        if (align == 0) {
            align = 512;
        }
        long size = h.getSize();
        // One request covers at most 4 GiB less the alignment, or everything with 64-bit requests.
        long maxLength = h.getExtendedHeadersNegotiated() ? size : 0xFFFF_FFFFL - align + 1;
        List<NbdExtent> extents = new ArrayList<>();
        for (long offset = 0; offset < size;) {
            int before = extents.size();
            h.blockStatus64(Math.min(size - offset, maxLength), offset, (meta, start, entries, error) -> {
                if (meta.equals(context)) {
                    extents.addAll(List.of(entries));
                }
                return 0;
            });
            if (extents.size() == before) {
                throw new ToolException(1, "--map: server did not return any extents");
            }
            for (NbdExtent e : extents.subList(before, extents.size())) {
                offset += e.length();
            }
        }
        return new ExtentMap(context, size, extents);
    }

    private static boolean agreed(NbdHandle h, String context) {
        try {
            return h.canMetaContext(context);
        } catch (NbdException e) {
            return false;
        }
    }

    /** One line (or JSON object) per run of extents of one type. */
    void printExtents(Spool out, boolean json) {
        if (json) {
            out.add("[\n");
        }
        long offset = 0;
        boolean first = true;
        int i = 0;
        while (i < extents.size()) {
            long type = extents.get(i).flags();
            long length = 0;
            for (; i < extents.size() && extents.get(i).flags() == type; i++) {
                length += extents.get(i).length();
            }
            String o = Long.toUnsignedString(offset);
            String l = Long.toUnsignedString(length);
            String t = Long.toUnsignedString(type);
            entry(out, json, first, type,
                    "{ \"offset\": " + o + ", \"length\": " + l + ", \"type\": " + t, "}",
                    String.format("%10s  %10s  %3s", o, l, t), "  ");
            first = false;
            offset += length;
        }
        if (json) {
            out.add("\n]\n");
        }
    }

    /** One line (or JSON object) per type, in increasing order of type: its bytes and share of the export. */
    void printTotals(Spool out, boolean json) {
        if (size == 0) {
            if (json) {
                out.add("[]\n");
            }
            return;
        }
        if (json) {
            out.add("[\n");
        }
        boolean first = true;
        for (long type : extents.stream().mapToLong(NbdExtent::flags).boxed().distinct()
                .sorted(Long::compareUnsigned).mapToLong(Long::longValue).toArray()) {
            long bytes = 0;
            for (NbdExtent e : extents) {
                if (e.flags() == type) {
                    bytes += e.length();
                }
            }
            if (bytes == 0) {
                continue;
            }
            double percent = 100.0 * bytes / size;
            String b = Long.toUnsignedString(bytes);
            String t = Long.toUnsignedString(type);
            entry(out, json, first, type,
                    "{ \"size\": " + b + ", \"percent\": " + Numbers.g(percent) + ", \"type\": " + t, " }",
                    String.format("%10s %5s%% %3s", b, Numbers.fixed(percent, 1), t), " ");
            first = false;
        }
        if (json) {
            out.add("\n]\n");
        }
    }

    /**
     * One entry of either listing, with the type's description where there is one: a JSON
     * object ({@code fields}, the description, {@code close}), after a comma unless it is
     * the first, or a line ({@code text}, {@code gap}, the description) in the type's colours.
     */
    private void entry(Spool out, boolean json, boolean first, long type, String fields, String close, String text,
            String gap) {
        String description = describe(type);
        if (json) {
            out.add(first ? "" : ",\n").add(fields);
            if (description != null) {
                out.add(", \"description\": ").json(description);
            }
            out.add(close);
        } else {
            colour(out, type);
            out.add(text);
            if (description != null) {
                out.add(gap + description);
            }
            restore(out, type);
            out.add('\n');
        }
    }

    /** What a type means in the contexts nbdinfo knows, or null. */
    private String describe(long type) {
        if (context.equals("base:allocation")) {
            return type >= 0 && type < BASE_ALLOCATION.size() ? BASE_ALLOCATION.get((int) type) : null;
        }
        if (context.startsWith("qemu:dirty-bitmap:")) {
            return type == 0 ? "clean" : type == 1 ? "dirty" : null;
        }
        if (context.equals("qemu:allocation-depth")) {
            return type == 0 ? "absent" : type == 1 ? "local" : "backing depth " + Long.toUnsignedString(type);
        }
        return null;
    }

    private void colour(Spool out, long type) {
        out.colour(foreground(type)).colour(background(type));
    }

    private void restore(Spool out, long type) {
        if (foreground(type) != null || background(type) != null) {
            out.restore();
        }
    }

    private String foreground(long type) {
        if (context.equals("base:allocation")) {
            return type == 0 ? Spool.BOLD_BLACK : null;
        }
        if (context.startsWith("qemu:dirty-bitmap:")) {
            return type == 0 ? Spool.GREEN : type == 1 ? Spool.RED : null;
        }
        if (context.equals("qemu:allocation-depth")) {
            return type == 1 ? Spool.BRIGHT_WHITE : null;
        }
        return null;
    }

    private String background(long type) {
        if (context.equals("qemu:allocation-depth")) {
            return type == 1 ? Spool.BG_BLACK : type > 1 || type < 0 ? Spool.BG_LIGHT_GREY : null;
        }
        return null;
    }
}
