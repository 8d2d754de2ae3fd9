package io.jnbd.internal.engine;

import io.jnbd.ChunkCallback;
import io.jnbd.ErrorHolder;
import io.jnbd.internal.protocol.BlockStatusChunk;
import io.jnbd.internal.protocol.Errno;
import io.jnbd.internal.protocol.Nbd;
import io.jnbd.internal.protocol.ProtocolException;
import io.jnbd.internal.protocol.ReplyHeader;
import io.jnbd.internal.protocol.Requests;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The transmission phase of one connection: requests go out from the calling
 * threads, replies come in on one reader thread that matches them by cookie
 * and completes their commands.
 *
 * <p>When the connection ends, every command still in flight completes with
 * an error, and the listener hears about it once.
 */
public final class Transmission {
    /**
     * Told once when the connection ends, before the commands in flight complete:
     * {@code cause} null means a clean close after NBD_CMD_DISC.
     */
    public interface Listener {
        void connectionEnded(NbdError cause);
    }

    private final WireChannel ch;
    private final Negotiated negotiated;
    private final boolean structured;
    private final boolean extended;
    private final Debug debug;
    private final Listener listener;
    private final ReplyHeader header = new ReplyHeader();

    // Guarded by this.
    private final Map<Long, Command> inFlight = new HashMap<>();
    private long nextCookie = 1;
    private boolean discSent;
    private NbdError endCause;
    private boolean ended;

    private Thread reader;

    public Transmission(WireChannel ch, Negotiated negotiated, Debug debug, Listener listener) {
        this.ch = ch;
        this.negotiated = negotiated;
        this.structured = negotiated.structuredReplies;
        this.extended = negotiated.extendedHeaders;
        this.debug = debug;
        this.listener = listener;
    }

    public void start(String threadName) {
        reader = Thread.ofPlatform().daemon().name(threadName).start(this::readLoop);
    }

    public synchronized int inFlight() {
        return inFlight.size();
    }

    public synchronized boolean discSent() {
        return discSent;
    }

    /**
     * Sends a command. On return it is in flight (or already done). A command
     * that cannot be sent because the connection has ended fails with an
     * NbdError and is never in flight.
     */
    public void submit(Command c) throws NbdError {
        synchronized (this) {
            if (ended) {
                throw new NbdError("connection is closed" + (endCause == null ? "" : ": " + endCause.getMessage()),
                        Errno.ENOTCONN, false);
            }
            if (discSent) {
                throw new NbdError("cannot request more commands after NBD_CMD_DISC", Errno.EINVAL, false);
            }
            c.cookie = nextCookie++;
            if (c.type == Nbd.CMD_DISC) {
                discSent = true;
            } else {
                inFlight.put(c.cookie, c);
            }
        }
        ByteBuffer h = ByteBuffer.allocate(Requests.EXTENDED_SIZE);
        Requests.encode(h, extended, c.flags, c.type, c.cookie, c.offset, c.count);
        h.flip();
        try {
            if (c.type == Nbd.CMD_WRITE) {
                ch.write(h, c.buffer.duplicate());
            } else {
                ch.write(h);
            }
            if (debug.enabled()) {
                debug.emit("transmission", "sent " + Nbd.commandName(c.type) + " cookie " + c.cookie + " offset "
                        + c.offset + " count " + c.count + " flags 0x" + Integer.toHexString(c.flags));
            }
        } catch (IOException e) {
            // The reader sees the broken connection too; ending here makes sure the command completes.
            end(Negotiator.ioError(e));
        }
        if (c.type == Nbd.CMD_DISC) {
            c.complete();
        }
    }

    /** Closes the connection from our side: in-flight commands fail, the reader exits. */
    public void terminate(String why) {
        end(new NbdError(why, Errno.ESHUTDOWN, true));
        ch.close();
        joinReader();
    }

    private void joinReader() {
        Thread r = reader;
        if (r != null && r != Thread.currentThread()) {
            try {
                r.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void readLoop() {
        NbdError cause;
        try {
            while (true) {
                ByteBuffer b;
                try {
                    b = ch.need(4);
                } catch (ConnectionClosedException eof) {
                    synchronized (this) {
                        if (discSent) {
                            cause = null;
                            break;
                        }
                    }
                    throw eof;
                }
                int size = ReplyHeader.sizeFor(b.getInt(b.position()), structured, extended);
                header.decode(ch.need(size));
                readReply();
            }
        } catch (IOException e) {
            cause = Negotiator.ioError(e);
        } catch (ProtocolException e) {
            cause = new NbdError(e.getMessage(), e.errno(), true);
        } catch (RuntimeException | Error e) {
            cause = new NbdError("internal error in reply reader: " + e, Errno.EIO, true, e);
        }
        end(cause);
        ch.close();
    }

    private void readReply() throws IOException, ProtocolException {
        Command c;
        synchronized (this) {
            c = inFlight.get(header.cookie);
        }
        if (c == null) {
            throw new ProtocolException("server sent a reply for unknown cookie " + Long.toUnsignedString(header.cookie));
        }
        if (header.kind == ReplyHeader.Kind.SIMPLE) {
            simpleReply(c);
        } else {
            chunk(c);
        }
        if (header.isDone()) {
            finish(c);
        }
    }

    private void simpleReply(Command c) throws IOException {
        if (c.type == Nbd.CMD_READ && structured) {
            // The spec forbids this, but the framing is intact: like libnbd, fail just this read.
            c.fail(Errno.EPROTO, "server sent a simple reply to NBD_CMD_READ after structured replies were "
                    + "negotiated");
        }
        if (header.error != 0) {
            int errno = Nbd.errnoOfWireError(header.error);
            c.fail(errno, null);
        } else if (c.type == Nbd.CMD_READ) {
            ch.readFully(c.buffer.slice(c.buffer.position(), (int) c.count));
            c.dataSeen += c.count;
        }
    }

    private void chunk(Command c) throws IOException, ProtocolException {
        long len = header.length;
        switch (header.type) {
            case Nbd.REPLY_TYPE_NONE -> {
                if (len != 0 || !header.isDone()) {
                    throw new ProtocolException("NBD_REPLY_TYPE_NONE chunk must be final and empty");
                }
            }
            case Nbd.REPLY_TYPE_OFFSET_DATA -> offsetData(c, len);
            case Nbd.REPLY_TYPE_OFFSET_HOLE -> offsetHole(c, len);
            case Nbd.REPLY_TYPE_BLOCK_STATUS -> blockStatus(c, len, false);
            case Nbd.REPLY_TYPE_BLOCK_STATUS_EXT -> blockStatus(c, len, true);
            case Nbd.REPLY_TYPE_ERROR, Nbd.REPLY_TYPE_ERROR_OFFSET -> errorChunk(c, len);
            default -> {
                if ((header.type & Nbd.REPLY_TYPE_ERROR_BIT) == 0) {
                    throw new ProtocolException("unknown structured reply chunk type " + header.type);
                }
                // An error type we don't know: its errno is still meaningful.
                if (len < 4) {
                    throw new ProtocolException("structured reply error chunk too short");
                }
                int error = ch.need(4).getInt();
                ch.skip(len - 4);
                c.fail(errnoOfChunk(error), "server sent unknown error chunk type " + header.type);
            }
        }
    }

    private void expectType(Command c, int type, String chunk) throws ProtocolException {
        if (c.type != type) {
            throw new ProtocolException("server sent " + chunk + " chunk to " + Nbd.commandName(c.type));
        }
    }

    /** Position in the caller's buffer of export offset {@code off}, after checking the range lies in the request. */
    private int bufferIndex(Command c, long off, long n, String chunk) throws ProtocolException {
        if (off < c.offset || n > c.count || off - c.offset > c.count - n) {
            throw new ProtocolException(chunk + " chunk (offset " + Long.toUnsignedString(off) + ", length " + n
                    + ") lies outside the request (offset " + c.offset + ", count " + c.count + ")");
        }
        return c.buffer.position() + (int) (off - c.offset);
    }

    private void offsetData(Command c, long len) throws IOException, ProtocolException {
        expectType(c, Nbd.CMD_READ, "NBD_REPLY_TYPE_OFFSET_DATA");
        if (len < 9) {
            throw new ProtocolException("NBD_REPLY_TYPE_OFFSET_DATA chunk too short");
        }
        long off = ch.need(8).getLong();
        long n = len - 8;
        int index = bufferIndex(c, off, n, "NBD_REPLY_TYPE_OFFSET_DATA");
        ByteBuffer slice = c.buffer.slice(index, (int) n);
        ch.readFully(slice);
        c.dataSeen += n;
        callChunk(c, slice, off, ChunkCallback.READ_DATA);
    }

    private void offsetHole(Command c, long len) throws IOException, ProtocolException {
        expectType(c, Nbd.CMD_READ, "NBD_REPLY_TYPE_OFFSET_HOLE");
        if (len != 12) {
            throw new ProtocolException("NBD_REPLY_TYPE_OFFSET_HOLE chunk has wrong length " + len);
        }
        ByteBuffer b = ch.need(12);
        long off = b.getLong();
        long n = Integer.toUnsignedLong(b.getInt());
        if (n == 0) {
            throw new ProtocolException("NBD_REPLY_TYPE_OFFSET_HOLE chunk of length 0");
        }
        int index = bufferIndex(c, off, n, "NBD_REPLY_TYPE_OFFSET_HOLE");
        ByteBuffer slice = c.buffer.slice(index, (int) n);
        zero(slice);
        c.dataSeen += n;
        callChunk(c, slice, off, ChunkCallback.READ_HOLE);
    }

    private static void zero(ByteBuffer b) {
        ByteBuffer z = b.duplicate();
        if (z.hasArray()) {
            java.util.Arrays.fill(z.array(), z.arrayOffset() + z.position(), z.arrayOffset() + z.limit(), (byte) 0);
        } else {
            while (z.remaining() >= 8) {
                z.putLong(0);
            }
            while (z.hasRemaining()) {
                z.put((byte) 0);
            }
        }
    }

    private void callChunk(Command c, ByteBuffer slice, long off, int status) {
        if (c.chunkCallback == null) {
            return;
        }
        ErrorHolder err = new ErrorHolder(c.error);
        int r;
        try {
            r = c.chunkCallback.call(slice.asReadOnlyBuffer(), off, status, err);
        } catch (RuntimeException e) {
            c.fail(Errno.EIO, "chunk callback threw " + e);
            return;
        }
        if (r == -1) {
            c.fail(err.get() != 0 ? err.get() : Errno.EPROTO, "chunk callback failed");
        }
    }

    private void blockStatus(Command c, long len, boolean extendedChunk) throws IOException, ProtocolException {
        expectType(c, Nbd.CMD_BLOCK_STATUS, extendedChunk ? "NBD_REPLY_TYPE_BLOCK_STATUS_EXT"
                : "NBD_REPLY_TYPE_BLOCK_STATUS");
        BlockStatusChunk.checkLength(len, extendedChunk);
        ByteBuffer payload = ByteBuffer.allocate((int) len);
        ch.readFully(payload);
        payload.flip();
        int id = BlockStatusChunk.contextId(payload);
        long[] pairs = BlockStatusChunk.decode(payload, extendedChunk);
        String name = negotiated.metaContextName(id);
        if (name == null) {
            debug.log("transmission", "ignoring block status for unknown meta context id " + id);
            return;
        }
        if (c.extentCallback == null) {
            return;
        }
        int[] entries = BlockStatusChunk.toEntries32(pairs, negotiated.export.blockMinimum);
        ErrorHolder err = new ErrorHolder(c.error);
        int r;
        try {
            r = c.extentCallback.call(name, c.offset, entries, err);
        } catch (RuntimeException e) {
            c.fail(Errno.EIO, "extent callback threw " + e);
            return;
        }
        if (r == -1) {
            c.fail(err.get() != 0 ? err.get() : Errno.EPROTO, "extent callback failed");
        }
    }

    private void errorChunk(Command c, long len) throws IOException, ProtocolException {
        boolean withOffset = header.type == Nbd.REPLY_TYPE_ERROR_OFFSET;
        if (len < 6) {
            throw new ProtocolException("structured reply error chunk too short");
        }
        ByteBuffer b = ch.need(6);
        int error = b.getInt();
        int msgLen = Short.toUnsignedInt(b.getShort());
        if (msgLen > len - 6 || (withOffset && len != 6 + msgLen + 8)) {
            throw new ProtocolException("structured reply error chunk has inconsistent length");
        }
        ByteBuffer m = ByteBuffer.allocate(msgLen);
        ch.readFully(m);
        String message = new String(m.array(), StandardCharsets.UTF_8);
        int errno = errnoOfChunk(error);
        if (withOffset) {
            long off = ch.need(8).getLong();
            if (c.type == Nbd.CMD_READ) {
                int index = bufferIndex(c, off, 1, "NBD_REPLY_TYPE_ERROR_OFFSET");
                c.fail(errno, message.isEmpty() ? null : message);
                callChunk(c, c.buffer.slice(index, 0), off, ChunkCallback.READ_ERROR);
                return;
            }
        } else {
            ch.skip(len - 6 - msgLen);
        }
        if (!message.isEmpty()) {
            debug.log("transmission", "server error message: " + message);
        }
        c.fail(errno, message.isEmpty() ? null : message);
    }

    private static int errnoOfChunk(int wireError) {
        return wireError == 0 ? Errno.EPROTO : Nbd.errnoOfWireError(wireError);
    }

    private void finish(Command c) {
        synchronized (this) {
            inFlight.remove(c.cookie);
        }
        if (c.type == Nbd.CMD_READ && c.error == 0 && c.dataSeen != c.count) {
            c.fail(Errno.EPROTO, "server sent " + c.dataSeen + " bytes of data for a read of " + c.count);
        }
        c.complete();
    }

    /** Ends the connection once: fails what is in flight, then tells the listener. */
    private void end(NbdError cause) {
        List<Command> failed;
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            endCause = cause;
            failed = new ArrayList<>(inFlight.values());
            inFlight.clear();
        }
        if (cause != null) {
            debug.log("transmission", "connection ended: " + cause.getMessage());
        }
        // The handle's state first: a caller woken by its failed command must find the handle dead.
        listener.connectionEnded(cause);
        for (Command c : failed) {
            c.fail(cause == null ? Errno.ENOTCONN : cause.errno(),
                    cause == null ? "server closed the connection before replying" : cause.getMessage());
            c.complete();
        }
    }
}
