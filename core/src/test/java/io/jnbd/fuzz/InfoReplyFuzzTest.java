package io.jnbd.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jnbd.internal.protocol.ExportInfo;
import io.jnbd.internal.protocol.OptionReply;
import io.jnbd.internal.protocol.ProtocolException;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link OptionReply#decodeInfo}: one NBD_INFO_* item of NBD_OPT_INFO or
 * NBD_OPT_GO. Only a {@link ProtocolException} may fail it; what it records
 * must be an export the spec allows.
 */
class InfoReplyFuzzTest {

    /** Input: the payload of an NBD_REP_INFO reply. */
    @FuzzTest
    void payload(byte[] data) {
        decode(data);
    }

    /** True if the payload was accepted, after checking what was made of it. */
    static boolean decode(byte[] data) {
        ByteBuffer p = ByteBuffer.wrap(data);
        ExportInfo info = new ExportInfo();
        try {
            OptionReply.decodeInfo(p, info);
        } catch (ProtocolException e) {
            return false;
        }
        assertFalse(p.hasRemaining(), "payload not consumed");
        assertTrue(!info.haveExport || info.flags != 0, "export flags 0 accepted");
        Invariants.checkExportInfo(info);
        return true;
    }
}
