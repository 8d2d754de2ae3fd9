package io.jnbd.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jnbd.internal.protocol.OptionReply;
import io.jnbd.internal.protocol.ProtocolException;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertFalse;

/** {@link OptionReply#decodeServer}: one export of NBD_OPT_LIST. Only a {@link ProtocolException} may fail it. */
class ServerReplyFuzzTest {

    /** Input: the payload of an NBD_REP_SERVER reply. */
    @FuzzTest
    void payload(byte[] data) {
        decode(data);
    }

    /** True if the payload was accepted, after checking what was made of it. */
    static boolean decode(byte[] data) {
        ByteBuffer p = ByteBuffer.wrap(data);
        OptionReply.Server s;
        try {
            s = OptionReply.decodeServer(p);
        } catch (ProtocolException e) {
            return false;
        }
        assertFalse(p.hasRemaining(), "payload not consumed");
        Invariants.assertBoundedString(s.name());
        Invariants.assertBoundedString(s.description());
        return true;
    }
}
