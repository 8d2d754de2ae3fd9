package io.jnbd.fuzz;

import io.jnbd.internal.protocol.ExportInfo;
import io.jnbd.internal.protocol.Nbd;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the library promises about anything it took from a server, whatever the server sent. */
final class Invariants {
    private Invariants() {
    }

    /**
     * What the handle exposes of an export is what the spec allows. (Flags
     * may end up 0: a server's lone NBD_FLAG_SEND_DF is dropped without
     * structured replies, after the check that the server sent some, as in
     * libnbd.)
     */
    static void checkExportInfo(ExportInfo info) {
        if (info.haveExport) {
            assertTrue(info.size >= 0, "negative export size " + info.size);
            assertTrue(info.flags >= 0 && info.flags <= 0xffff, "export flags 0x" + Integer.toHexString(info.flags));
        }
        if (info.canonicalName != null) {
            assertBoundedString(info.canonicalName);
        }
        if (info.description != null) {
            assertBoundedString(info.description);
        }
        int min = info.blockMinimum;
        int preferred = info.blockPreferred;
        int max = info.blockMaximum;
        if (min != 0 || preferred != 0 || max != 0) {
            assertTrue(Integer.bitCount(min) == 1 && min <= 65536
                            && Integer.bitCount(preferred) == 1 && preferred >= 512 && preferred >= min
                            && Integer.compareUnsigned(max, preferred) >= 0
                            && (max == -1 || Integer.remainderUnsigned(max, min) == 0),
                    "block sizes " + min + "/" + preferred + "/" + Integer.toUnsignedString(max) + " break the spec");
        }
    }

    /** A string decoded from at most the spec's 4096 bytes: UTF-8 never gives more chars than bytes. */
    static void assertBoundedString(String s) {
        assertTrue(s.length() <= Nbd.MAX_STRING, "string of " + s.length() + " chars");
    }
}
