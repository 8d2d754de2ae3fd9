package io.jnbd.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jnbd.internal.protocol.OptionReply;
import io.jnbd.internal.protocol.ProtocolException;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertFalse;

/** {@link OptionReply#decodeMetaContext}: a context id and its name. Only a {@link ProtocolException} may fail it. */
class MetaContextReplyFuzzTest {

    /** Input: the payload of an NBD_REP_META_CONTEXT reply. */
    @FuzzTest
    void payload(byte[] data) {
        decode(data);
    }

    /** True if the payload was accepted, after checking what was made of it. */
    static boolean decode(byte[] data) {
        ByteBuffer p = ByteBuffer.wrap(data);
        OptionReply.MetaContext m;
        try {
            m = OptionReply.decodeMetaContext(p);
        } catch (ProtocolException e) {
            return false;
        }
        assertFalse(p.hasRemaining(), "payload not consumed");
        assertFalse(m.name().isEmpty(), "empty meta context name accepted");
        Invariants.assertBoundedString(m.name());
        return true;
    }
}
