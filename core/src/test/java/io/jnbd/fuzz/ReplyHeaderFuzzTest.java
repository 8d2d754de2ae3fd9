package io.jnbd.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jnbd.internal.protocol.ProtocolException;
import io.jnbd.internal.protocol.ReplyHeader;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reply headers as the reply reader takes them: {@link ReplyHeader#sizeFor}
 * on the magic, then {@link ReplyHeader#decode} on exactly that many bytes.
 */
class ReplyHeaderFuzzTest {

    /**
     * Input: what was negotiated (first byte: bit 0 structured replies, bit 1
     * extended headers), then the server's header bytes.
     */
    @FuzzTest
    void header(byte[] data) {
        decode(data);
    }

    /** True if the header was accepted, after checking what was made of it. */
    static boolean decode(byte[] data) {
        if (data.length < 1 + 4) {
            return false;
        }
        boolean structured = (data[0] & 1) != 0;
        boolean extended = (data[0] & 2) != 0;
        ByteBuffer b = ByteBuffer.wrap(data, 1, data.length - 1);
        ReplyHeader h = new ReplyHeader();
        int size;
        try {
            size = ReplyHeader.sizeFor(b.getInt(b.position()), structured, extended);
            if (b.remaining() < size) {
                return false;
            }
            // A decoder that reads past the size it announced fails here, with a BufferUnderflowException.
            b.limit(b.position() + size);
            h.decode(b);
        } catch (ProtocolException e) {
            return false;
        }
        assertEquals(1 + size, b.position(), "header not consumed exactly");
        switch (h.kind) {
            case SIMPLE -> assertTrue(!extended && size == ReplyHeader.SIMPLE_SIZE, "simple reply accepted");
            case STRUCTURED -> assertTrue(structured && !extended && size == ReplyHeader.STRUCTURED_SIZE,
                    "structured reply accepted");
            case EXTENDED -> assertTrue(extended && size == ReplyHeader.EXTENDED_SIZE, "extended reply accepted");
        }
        if (h.kind != ReplyHeader.Kind.SIMPLE) {
            assertTrue(h.length >= 0 && h.length <= ReplyHeader.MAX_CHUNK_LENGTH, "unbounded chunk length " + h.length);
            assertTrue(h.flags <= 0xffff && h.type <= 0xffff, "flags or type wider than 16 bits");
        }
        return true;
    }
}
