package io.jnbd.tools.info;

import io.jnbd.NbdHandle;
import io.jnbd.tools.ToolException;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * {@code --can}/{@code --is}/{@code --has FLAG} and their negations: the
 * answer is the exit status, 0 for true and 2 for false, as with nbdinfo.
 * Flag names are matched without regard to case, with nbdinfo's spellings.
 */
final class FlagQuery {
    static final int TRUE = 0;
    static final int FALSE = 2;

    private static final Map<String, Predicate<NbdHandle>> FLAGS = flags();

    private FlagQuery() {
    }

    private static Map<String, Predicate<NbdHandle>> flags() {
        var m = new java.util.HashMap<String, Predicate<NbdHandle>>();
        m.put("connect", h -> true);
        m.put("read", h -> true);
        m.put("tls", NbdHandle::getTlsNegotiated);
        spellings(m, NbdHandle::getStructuredRepliesNegotiated, "sr", "structured",
                "structured reply", "structured-reply", "structured_reply",
                "structured replies", "structured-replies", "structured_replies");
        spellings(m, NbdHandle::getExtendedHeadersNegotiated, "eh",
                "extended header", "extended-header", "extended_header",
                "extended headers", "extended-headers", "extended_headers");
        spellings(m, NbdHandle::isReadOnly, "readonly", "read-only", "read_only");
        m.put("write", h -> !h.isReadOnly());
        m.put("rotational", NbdHandle::isRotational);
        spellings(m, NbdHandle::canBlockStatusPayload,
                "block status payload", "block-status-payload", "block_status_payload");
        m.put("cache", NbdHandle::canCache);
        m.put("df", NbdHandle::canDf);
        spellings(m, NbdHandle::canFastZero, "fastzero", "fast-zero", "fast_zero");
        m.put("flush", NbdHandle::canFlush);
        m.put("fua", NbdHandle::canFua);
        spellings(m, NbdHandle::canMultiConn, "multiconn", "multi-conn", "multi_conn");
        m.put("trim", NbdHandle::canTrim);
        m.put("zero", NbdHandle::canZero);
        return Map.copyOf(m);
    }

    private static void spellings(Map<String, Predicate<NbdHandle>> m, Predicate<NbdHandle> flag, String... names) {
        for (String name : names) {
            m.put(name, flag);
        }
    }

    /** The exit status answering {@code flag} (negated if {@code negate}) for the connected {@code h}. */
    static int answer(NbdHandle h, String flag, boolean negate) {
        Predicate<NbdHandle> test = FLAGS.get(flag.toLowerCase(Locale.ROOT));
        if (test == null) {
            throw new ToolException(1, "unknown " + (negate ? "--cannot/--isnt/--hasnt" : "--can/--is/--has")
                    + " option: " + flag);
        }
        return test.test(h) != negate ? TRUE : FALSE;
    }
}
