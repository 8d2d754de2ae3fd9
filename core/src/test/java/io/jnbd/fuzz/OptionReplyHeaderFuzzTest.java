package io.jnbd.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jnbd.internal.protocol.Nbd;
import io.jnbd.internal.protocol.OptionReply;
import io.jnbd.internal.protocol.ProtocolException;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link OptionReply#decodeHeader}, fed the 20 bytes the negotiator reads.
 * A {@link ProtocolException} is the only allowed failure; an accepted header
 * must bound the payload length the negotiator then allocates.
 */
class OptionReplyHeaderFuzzTest {

    /** Input: the option the client sent (first byte), then the server's 20 header bytes. */
    @FuzzTest
    void header(byte[] data) {
        decode(data);
    }

    /** True if the header was accepted, after checking what was made of it. */
    static boolean decode(byte[] data) {
        if (data.length < 1 + OptionReply.HEADER_SIZE) {
            return false;
        }
        int option = data[0] & 0xff;
        ByteBuffer b = ByteBuffer.wrap(data, 1, OptionReply.HEADER_SIZE);
        OptionReply r;
        try {
            r = OptionReply.decodeHeader(b, option);
        } catch (ProtocolException e) {
            return false;
        }
        assertEquals(1 + OptionReply.HEADER_SIZE, b.position(), "header not consumed exactly");
        assertEquals(option, r.option());
        assertTrue(r.length() >= 0 && r.length() <= Nbd.MAX_OPTION_REPLY, "unbounded payload length " + r.length());
        if (r.isError()) {
            assertTrue(r.length() <= Nbd.MAX_STRING, "unbounded error message length " + r.length());
        }
        if (r.type() == Nbd.REP_ACK) {
            assertEquals(0, r.length(), "NBD_REP_ACK with a payload");
        }
        return true;
    }
}
