package io.jnbd.server.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jnbd.internal.protocol.Nbd;
import io.jnbd.server.Backend;
import io.jnbd.server.internal.Export;
import io.jnbd.server.internal.FuzzAccess;
import io.jnbd.server.internal.FuzzAccess.Ending;
import io.jnbd.server.internal.FuzzAccess.Outcome;
import io.jnbd.server.internal.Limits;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The server's handshake against a client that says arbitrary bytes: client
 * flags, then any options. The server may end it only as
 * {@link FuzzAccess} allows (an export picked, an abort, end of input, a
 * violation); its replies, read back alongside the options that caused
 * them, must be well-formed: one group per option, each ending in an ACK or
 * an error, every reply of a type and size the spec allows for that option.
 * What it negotiated must follow from the options it acknowledged: the
 * export NBD_OPT_GO or NBD_OPT_EXPORT_NAME named, structured replies and
 * extended headers, and base:allocation if the last NBD_OPT_SET_META_CONTEXT
 * selected it for that export.
 */
class ServerHandshakeFuzzTest {
    static final long SIZE = 1 << 20;
    /** Options the server answers before it hangs up on a client that never picks an export. */
    private static final int MAX_OPTIONS = 4096;
    private static final int MAX_OPTION_LENGTH = 1 << 20;
    private static final String BASE_ALLOCATION = "base:allocation";
    private static final Set<Integer> ERRORS = Set.of(Nbd.REP_ERR_UNSUP, Nbd.REP_ERR_INVALID,
            Nbd.REP_ERR_TLS_REQD, Nbd.REP_ERR_UNKNOWN, Nbd.REP_ERR_EXT_HEADER_REQD);

    /**
     * Input: first byte bit 0 set to hand the client's bytes over in reads of
     * at most 7 bytes; then everything the client sends after the greeting.
     */
    @FuzzTest
    void handshake(byte[] data) throws IOException {
        run(data);
    }

    static Outcome run(byte[] data) throws IOException {
        if (data.length < 1) {
            return null;
        }
        Map<String, Export> exports = new LinkedHashMap<>();
        exports.put("fuzz", FuzzAccess.export("fuzz", Backend.memory(SIZE), "a disk for fuzzing", false));
        exports.put("ro", FuzzAccess.export("ro", Backend.nullDevice(SIZE), null, true));
        ByteArrayOutputStream server = new ByteArrayOutputStream();
        ClientTransport client = new ClientTransport(data, 1, (data[0] & 1) != 0 ? 7 : Integer.MAX_VALUE,
                b -> {
                    byte[] a = new byte[b.remaining()];
                    b.duplicate().get(a);
                    server.writeBytes(a);
                });
        Outcome outcome = FuzzAccess.handshake(client, exports, Limits.DEFAULT);
        check(ByteBuffer.wrap(data, 1, data.length - 1), ByteBuffer.wrap(server.toByteArray()), outcome, exports);
        return outcome;
    }

    /** Walks the client's options and the server's replies side by side. */
    private static void check(ByteBuffer in, ByteBuffer out, Outcome outcome, Map<String, Export> exports) {
        assertEquals(Nbd.NBDMAGIC, out.getLong(), "greeting");
        assertEquals(Nbd.IHAVEOPT, out.getLong(), "greeting");
        assertEquals(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES, out.getShort(), "handshake flags");
        if (in.remaining() < 4) {
            end(out, outcome, Ending.END_OF_INPUT);
            return;
        }
        int clientFlags = in.getInt();
        if ((clientFlags & ~(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)) != 0) {
            end(out, outcome, Ending.VIOLATION);
            return;
        }
        boolean structured = false;
        boolean extended = false;
        String selected = null;
        for (int count = 0;; count++) {
            if (count == MAX_OPTIONS) {
                end(out, outcome, Ending.VIOLATION);
                return;
            }
            if (in.remaining() < 16) {
                end(out, outcome, Ending.END_OF_INPUT);
                return;
            }
            long magic = in.getLong();
            int option = in.getInt();
            long length = Integer.toUnsignedLong(in.getInt());
            if (magic != Nbd.IHAVEOPT || length > MAX_OPTION_LENGTH) {
                end(out, outcome, Ending.VIOLATION);
                return;
            }
            if (length > in.remaining()) {
                end(out, outcome, Ending.END_OF_INPUT);
                return;
            }
            ByteBuffer payload = in.slice(in.position(), (int) length);
            in.position(in.position() + (int) length);
            String what = Nbd.optionName(option) + " (option " + (count + 1) + ")";
            if (option == Nbd.OPT_EXPORT_NAME) {
                if (!out.hasRemaining()) {
                    end(out, outcome, Ending.VIOLATION);
                } else {
                    assertEquals((clientFlags & Nbd.FLAG_NO_ZEROES) != 0 ? 10 : 134, out.remaining(),
                            "reply to " + what);
                    assertEquals(SIZE, out.getLong(), "export size");
                    String export = resolve(StandardCharsets.UTF_8.decode(payload).toString());
                    assertEquals(new Outcome(Ending.DONE, export, structured, extended,
                            structured && export.equals(selected)), outcome, "what " + what + " negotiated");
                    checkExport(outcome, exports);
                }
                return;
            }
            Answer answer = replies(option, out, what);
            boolean ack = answer.last() == Nbd.REP_ACK;
            if (ack && option == Nbd.OPT_ABORT) {
                end(out, outcome, Ending.ABORTED);
                return;
            }
            if (ack && option == Nbd.OPT_GO) {
                end(out, outcome, Ending.DONE);
                String export = resolve(name(payload));
                assertEquals(new Outcome(Ending.DONE, export, structured, extended,
                        structured && export.equals(selected)), outcome, "what " + what + " negotiated");
                checkExport(outcome, exports);
                return;
            }
            switch (option) {
                case Nbd.OPT_STRUCTURED_REPLY -> structured |= ack;
                case Nbd.OPT_EXTENDED_HEADERS -> {
                    extended |= ack;
                    structured |= ack;
                }
                case Nbd.OPT_SET_META_CONTEXT -> selected = ack && answer.metaContext() ? resolve(name(payload)) : null;
                default -> {
                }
            }
        }
    }

    /** The name at the start of an option's payload, after its length. */
    private static String name(ByteBuffer payload) {
        return StandardCharsets.UTF_8.decode(payload.slice(4, payload.getInt(0))).toString();
    }

    /** The empty name is the default export, the first. */
    private static String resolve(String name) {
        return name.isEmpty() ? "fuzz" : name;
    }

    /** How the replies to one option ended, and whether they selected or listed a meta context. */
    private record Answer(int last, boolean metaContext) {
    }

    private static void end(ByteBuffer out, Outcome outcome, Ending expected) {
        assertEquals(expected, outcome.ending(), "how the handshake ended");
        assertTrue(!out.hasRemaining(), out.remaining() + " bytes sent after the handshake ended");
    }

    private static void checkExport(Outcome outcome, Map<String, Export> exports) {
        assertTrue(exports.containsKey(outcome.export()), "negotiated an unknown export " + outcome.export());
        assertTrue(outcome.structured() || !outcome.extended(), "extended headers without structured replies");
        assertTrue(outcome.structured() || !outcome.baseAllocation(), "base:allocation without structured replies");
    }

    /** Reads the replies to one option, up to its ACK or error. */
    private static Answer replies(int option, ByteBuffer out, String what) {
        boolean export = false;
        boolean metaContext = false;
        while (true) {
            assertTrue(out.remaining() >= 20, "no complete reply to " + what);
            assertEquals(Nbd.REPLY_MAGIC_OPT, out.getLong(), "reply magic for " + what);
            assertEquals(option, out.getInt(), "option echoed in a reply to " + what);
            int type = out.getInt();
            int length = out.getInt();
            assertTrue(length >= 0 && length <= out.remaining(), "reply of " + length + " bytes to " + what);
            ByteBuffer payload = out.slice(out.position(), length);
            out.position(out.position() + length);
            switch (type) {
                case Nbd.REP_ACK -> {
                    assertEquals(0, length, "NBD_REP_ACK with a payload for " + what);
                    assertTrue(option != Nbd.OPT_GO || export, "NBD_OPT_GO succeeded without NBD_INFO_EXPORT");
                    return new Answer(type, metaContext);
                }
                case Nbd.REP_SERVER -> {
                    assertEquals(Nbd.OPT_LIST, option, "NBD_REP_SERVER for " + what);
                    assertTrue(length >= 4 && payload.getInt() <= length - 4, "NBD_REP_SERVER name length");
                }
                case Nbd.REP_INFO -> {
                    assertTrue(option == Nbd.OPT_INFO || option == Nbd.OPT_GO, "NBD_REP_INFO for " + what);
                    assertTrue(length >= 2, "NBD_REP_INFO without a type");
                    int info = payload.getShort();
                    switch (info) {
                        case Nbd.INFO_EXPORT -> {
                            assertEquals(12, length, "NBD_INFO_EXPORT length");
                            assertEquals(SIZE, payload.getLong(), "export size");
                            assertTrue((payload.getShort() & Nbd.TFLAG_HAS_FLAGS) != 0, "export flags lack HAS_FLAGS");
                            export = true;
                        }
                        case Nbd.INFO_BLOCK_SIZE -> {
                            assertEquals(14, length, "NBD_INFO_BLOCK_SIZE length");
                            assertEquals(Limits.DEFAULT.minimum(), payload.getInt());
                            assertEquals(Limits.DEFAULT.preferred(), payload.getInt());
                            assertEquals(Limits.DEFAULT.maximum(), payload.getInt());
                        }
                        case Nbd.INFO_NAME, Nbd.INFO_DESCRIPTION ->
                            assertTrue(length <= 2 + Nbd.MAX_STRING, "NBD_INFO string too long");
                        default -> fail("unknown NBD_INFO type " + info + " for " + what);
                    }
                }
                case Nbd.REP_META_CONTEXT -> {
                    assertTrue(option == Nbd.OPT_LIST_META_CONTEXT || option == Nbd.OPT_SET_META_CONTEXT,
                            "NBD_REP_META_CONTEXT for " + what);
                    assertEquals(option == Nbd.OPT_SET_META_CONTEXT ? 1 : 0, payload.getInt(), "meta context id");
                    assertEquals(BASE_ALLOCATION, StandardCharsets.UTF_8.decode(payload).toString(), "meta context");
                    metaContext = true;
                }
                default -> {
                    assertTrue(ERRORS.contains(type), "reply type 0x" + Integer.toHexString(type) + " to " + what);
                    assertTrue(length <= Nbd.MAX_STRING, "error message of " + length + " bytes");
                    return new Answer(type, false);
                }
            }
        }
    }
}
