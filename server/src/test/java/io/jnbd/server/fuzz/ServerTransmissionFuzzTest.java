package io.jnbd.server.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jnbd.CmdFlag;
import io.jnbd.internal.protocol.Nbd;
import io.jnbd.server.Backend;
import io.jnbd.server.internal.Export;
import io.jnbd.server.internal.FuzzAccess;
import io.jnbd.server.internal.FuzzAccess.Ending;
import io.jnbd.server.internal.Limits;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The transmission phase against a client that sends arbitrary requests to
 * a 1 MiB memory disk. The server may end it only as {@link FuzzAccess}
 * allows; every request it read whole gets exactly one reply, in order (a
 * memory disk is served on the connection's thread), with the request's
 * cookie and the framing negotiated; a request the server had to refuse
 * (out of range, misaligned, a write to a read-only export, unknown command
 * or flag) never gets a success, and no request gets EIO, which would mean
 * that it reached the disk unchecked. The replies are checked as the server
 * writes them, so read data is never held: it is compared with a copy of
 * the disk that the successful writes, trims and zeroes kept up to date,
 * and so are the extents that block status says read as zeroes.
 */
class ServerTransmissionFuzzTest {
    static final long SIZE = 1 << 20;
    static final Limits BLOCKS_512 = new Limits(512, 4096, 32 << 20);
    /** The errors a request may earn before it reaches the disk. */
    private static final Set<Integer> ERRNOS = Set.of(Nbd.EPERM, Nbd.EINVAL, Nbd.ENOSPC, Nbd.EOVERFLOW);

    /** One whole request, as the client sent it, with its payload if it has one. */
    record Request(int flags, int type, long cookie, long offset, long length, ByteBuffer payload) {
        String what() {
            return Nbd.commandName(type) + " (cookie " + cookie + ")";
        }
    }

    /**
     * Input: first byte, how the negotiation went: bit 0 structured replies,
     * 1 extended headers (with structured replies), 2 base:allocation
     * selected (with structured replies), 3 a read-only export, 4 bytes
     * arrive 7 at a time, 5 a minimum block size of 512; then the requests.
     */
    @FuzzTest
    void requests(byte[] data) throws IOException {
        run(data);
    }

    /** How transmission ended, and the errno of each reply in order (0: success). */
    record Result(Ending ending, List<Integer> errnos) {
    }

    static Result run(byte[] data) throws IOException {
        if (data.length < 1) {
            return null;
        }
        int mode = data[0];
        boolean extended = (mode & 2) != 0;
        boolean structured = extended || (mode & 1) != 0;
        boolean baseAllocation = structured && (mode & 4) != 0;
        boolean readOnly = (mode & 8) != 0;
        Limits limits = (mode & 32) != 0 ? BLOCKS_512 : Limits.DEFAULT;
        List<Request> requests = new ArrayList<>();
        Ending expected = requests(ByteBuffer.wrap(data, 1, data.length - 1), extended, limits, requests);
        Replies replies = new Replies(structured, extended, baseAllocation, readOnly, limits, requests);
        Export export = FuzzAccess.export("fuzz", Backend.memory(SIZE), null, readOnly);
        ClientTransport client = new ClientTransport(data, 1, (mode & 16) != 0 ? 7 : Integer.MAX_VALUE, replies);
        Ending ending = FuzzAccess.transmission(client, export, structured, extended, baseAllocation, limits);
        assertEquals(expected, ending, "how transmission ended");
        replies.finish();
        return new Result(ending, replies.errnos);
    }

    /** Splits the client's bytes into the requests the server should read whole; returns how it should end. */
    private static Ending requests(ByteBuffer in, boolean extended, Limits limits, List<Request> requests) {
        int headerSize = extended ? 32 : 28;
        while (in.remaining() >= headerSize) {
            int magic = in.getInt();
            int flags = Short.toUnsignedInt(in.getShort());
            int type = Short.toUnsignedInt(in.getShort());
            long cookie = in.getLong();
            long offset = in.getLong();
            long length = extended ? in.getLong() : Integer.toUnsignedLong(in.getInt());
            if (magic != (extended ? Nbd.EXTENDED_REQUEST_MAGIC : Nbd.REQUEST_MAGIC)) {
                return Ending.VIOLATION;
            }
            boolean payload = type == Nbd.CMD_WRITE || (extended && (flags & CmdFlag.PAYLOAD_LEN) != 0);
            if (payload && Long.compareUnsigned(length, limits.maximum()) > 0) {
                return Ending.VIOLATION;
            }
            if (type == Nbd.CMD_DISC) {
                return Ending.DONE;
            }
            if (payload && length > in.remaining()) {
                break;
            }
            ByteBuffer data = payload ? in.slice(in.position(), (int) length) : null;
            in.position(in.position() + (payload ? (int) length : 0));
            requests.add(new Request(flags, type, cookie, offset, length, data));
        }
        return Ending.END_OF_INPUT;
    }

    /** Reads the server's replies as they are written, one field at a time. */
    private static final class Replies implements ClientTransport.Sink {
        /** The longest reply payload held: a block status reply of 65536 extended descriptors. */
        private static final int MAX_KEPT = 8 + 16 * 65536;
        private static final byte[] ZEROES = new byte[(int) SIZE];

        private enum Stage { MAGIC, HEADER, DATA_OFFSET, PAYLOAD }

        private final boolean structured;
        private final boolean extended;
        private final boolean baseAllocation;
        private final boolean readOnly;
        private final Limits limits;
        private final List<Request> requests;
        private int answered;
        final List<Integer> errnos = new ArrayList<>();
        /** What the disk should hold: trims and zeroes both leave zeroes on a memory disk. */
        private final byte[] disk = new byte[(int) SIZE];

        private Stage stage = Stage.MAGIC;
        private byte[] acc = new byte[32];
        private int have;
        private int wanted = 4;
        /** Read data still to come, and where on the disk it is from. */
        private long skip;
        private long dataAt;
        private Request request;
        private int magic;
        private int chunkType;
        private int error;

        Replies(boolean structured, boolean extended, boolean baseAllocation, boolean readOnly, Limits limits,
                List<Request> requests) {
            this.structured = structured;
            this.extended = extended;
            this.baseAllocation = baseAllocation;
            this.readOnly = readOnly;
            this.limits = limits;
            this.requests = requests;
        }

        @Override
        public void accept(ByteBuffer b) {
            ByteBuffer src = b.duplicate();
            while (src.hasRemaining()) {
                if (skip > 0) {
                    int n = (int) Math.min(skip, src.remaining());
                    int mismatch = src.slice(src.position(), n).mismatch(ByteBuffer.wrap(disk, (int) dataAt, n));
                    assertEquals(-1, mismatch, "data read at " + (dataAt + mismatch) + " for " + request.what());
                    src.position(src.position() + n);
                    skip -= n;
                    dataAt += n;
                    if (skip == 0) {
                        next(Stage.MAGIC, 4);
                    }
                    continue;
                }
                int n = Math.min(wanted - have, src.remaining());
                src.get(acc, have, n);
                have += n;
                if (have == wanted) {
                    step(ByteBuffer.wrap(acc, 0, wanted));
                }
            }
        }

        private void next(Stage s, int n) {
            stage = s;
            have = 0;
            wanted = n;
            if (acc.length < n) {
                acc = new byte[n];
            }
        }

        private void step(ByteBuffer b) {
            switch (stage) {
                case MAGIC -> {
                    magic = b.getInt();
                    assertTrue(answered < requests.size(), "a reply nobody asked for");
                    request = requests.get(answered++);
                    if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
                        assertTrue(!extended, "a simple reply with extended headers to " + request.what());
                        next(Stage.HEADER, 12);
                    } else if (magic == Nbd.STRUCTURED_REPLY_MAGIC) {
                        assertTrue(structured && !extended, "a structured reply to " + request.what());
                        next(Stage.HEADER, 16);
                    } else {
                        assertEquals(Nbd.EXTENDED_REPLY_MAGIC, magic, "reply magic");
                        assertTrue(extended, "an extended reply to " + request.what());
                        next(Stage.HEADER, 28);
                    }
                }
                case HEADER -> header(b);
                case DATA_OFFSET -> {
                    assertEquals(request.offset(), b.getLong(), "offset of the data for " + request.what());
                    skip = request.length();
                    dataAt = request.offset();
                    if (skip == 0) {
                        next(Stage.MAGIC, 4);
                    }
                }
                case PAYLOAD -> {
                    payload(b);
                    next(Stage.MAGIC, 4);
                }
            }
        }

        private void header(ByteBuffer b) {
            if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
                error = b.getInt();
                assertEquals(request.cookie(), b.getLong(), "cookie of the reply to " + request.what());
                outcome(error);
                boolean data = error == 0 && request.type() == Nbd.CMD_READ;
                assertTrue(!data || !structured || request.length() == 0,
                        "a simple reply with data to a structured client's " + request.what());
                skip = data ? request.length() : 0;
                dataAt = request.offset();
                if (skip == 0) {
                    next(Stage.MAGIC, 4);
                }
                return;
            }
            int flags = Short.toUnsignedInt(b.getShort());
            chunkType = Short.toUnsignedInt(b.getShort());
            assertEquals(request.cookie(), b.getLong(), "cookie of the reply to " + request.what());
            if (extended) {
                b.getLong();
            }
            long length = extended ? b.getLong() : Integer.toUnsignedLong(b.getInt());
            assertEquals(Nbd.REPLY_FLAG_DONE, flags, "chunk flags for " + request.what());
            switch (chunkType) {
                case Nbd.REPLY_TYPE_NONE -> {
                    assertEquals(0, length, "NBD_REPLY_TYPE_NONE length");
                    outcome(0);
                    next(Stage.MAGIC, 4);
                }
                case Nbd.REPLY_TYPE_OFFSET_DATA -> {
                    assertEquals(Nbd.CMD_READ, request.type(), "data for " + request.what());
                    assertEquals(8 + request.length(), length, "length of the data for " + request.what());
                    outcome(0);
                    next(Stage.DATA_OFFSET, 8);
                }
                case Nbd.REPLY_TYPE_BLOCK_STATUS, Nbd.REPLY_TYPE_BLOCK_STATUS_EXT, Nbd.REPLY_TYPE_ERROR -> {
                    assertTrue(length <= MAX_KEPT, "a chunk of " + length + " bytes for " + request.what());
                    next(Stage.PAYLOAD, (int) length);
                    if (length == 0) {
                        fail("an empty chunk of type " + chunkType + " for " + request.what());
                    }
                }
                default -> fail("chunk type " + chunkType + " for " + request.what());
            }
        }

        private void payload(ByteBuffer b) {
            int length = b.remaining();
            if (chunkType == Nbd.REPLY_TYPE_ERROR) {
                assertTrue(length >= 6, "error chunk of " + length + " bytes");
                outcome(b.getInt());
                assertEquals(length - 6, Short.toUnsignedInt(b.getShort()), "error message length");
                return;
            }
            assertEquals(Nbd.CMD_BLOCK_STATUS, request.type(), "block status for " + request.what());
            assertEquals(extended, chunkType == Nbd.REPLY_TYPE_BLOCK_STATUS_EXT, "block status chunk type");
            int descriptor = extended ? 16 : 8;
            assertTrue(length >= 4 + descriptor && (length - 4) % descriptor == (extended ? 4 : 0),
                    "block status chunk of " + length + " bytes");
            outcome(0);
            assertEquals(1, b.getInt(), "meta context id");
            int n = (length - 4) / descriptor;
            if (extended) {
                assertEquals(n, b.getInt(), "descriptor count");
            }
            assertTrue(n == 1 || (request.flags() & CmdFlag.REQ_ONE) == 0, n + " extents for NBD_CMD_FLAG_REQ_ONE");
            long sum = 0;
            for (int i = 0; i < n; i++) {
                long extent = extended ? b.getLong() : Integer.toUnsignedLong(b.getInt());
                long state = extended ? b.getLong() : Integer.toUnsignedLong(b.getInt());
                assertTrue(extent > 0, "an empty extent");
                assertEquals(0, state & ~3L, "extent flags");
                if ((state & 2) != 0) {
                    int from = (int) Math.min(request.offset() + sum, SIZE);
                    int to = (int) Math.min(request.offset() + sum + extent, SIZE);
                    int mismatch = ByteBuffer.wrap(disk, from, to - from).mismatch(ByteBuffer.wrap(ZEROES, 0, to - from));
                    assertEquals(-1, mismatch, "an extent said to read as zeroes has data at " + (from + mismatch));
                }
                sum += extent;
            }
            assertTrue(sum <= request.length(), "extents of " + sum + " bytes for " + request.what());
        }

        /** The request's result: an errno the server may give before the disk, or a success it earned. */
        private void outcome(int errno) {
            String what = request.what();
            errnos.add(errno);
            if (errno != 0) {
                assertTrue(ERRNOS.contains(errno), "errno " + errno + " for " + what);
                return;
            }
            int type = request.type();
            assertTrue(type <= Nbd.CMD_BLOCK_STATUS && type != Nbd.CMD_DISC, "success for " + what);
            if (type == Nbd.CMD_FLUSH) {
                return;
            }
            long end = request.offset() + request.length();
            assertTrue(Long.compareUnsigned(request.offset(), SIZE) <= 0
                    && Long.compareUnsigned(request.length(), SIZE) <= 0 && end <= SIZE,
                    "success for " + what + " past the end: " + Long.toUnsignedString(request.offset()) + "+"
                            + Long.toUnsignedString(request.length()));
            assertEquals(0, (request.offset() | request.length()) & (limits.minimum() - 1),
                    "success for a misaligned " + what);
            boolean writes = type == Nbd.CMD_WRITE || type == Nbd.CMD_TRIM || type == Nbd.CMD_WRITE_ZEROES;
            assertTrue(!writes || !readOnly, "success for " + what + " on a read-only export");
            int offset = (int) request.offset();
            int length = (int) request.length();
            assertTrue(type != Nbd.CMD_BLOCK_STATUS || baseAllocation && length > 0,
                    "success for " + what + (baseAllocation ? " of length 0" : " without base:allocation"));
            switch (type) {
                case Nbd.CMD_WRITE -> request.payload().get(0, disk, offset, length);
                case Nbd.CMD_TRIM, Nbd.CMD_WRITE_ZEROES -> Arrays.fill(disk, offset, offset + length, (byte) 0);
                default -> {
                }
            }
        }

        /** Every request read whole was answered, each reply whole. */
        void finish() {
            assertEquals(requests.size(), answered, "requests answered");
            assertTrue(stage == Stage.MAGIC && have == 0 && skip == 0, "a reply cut short");
        }
    }
}
