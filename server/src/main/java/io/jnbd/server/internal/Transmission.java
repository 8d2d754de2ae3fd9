package io.jnbd.server.internal;

import io.jnbd.CmdFlag;
import io.jnbd.internal.protocol.Nbd;
import io.jnbd.internal.transport.Transport;
import io.jnbd.server.Backend;
import io.jnbd.server.BackendException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The transmission phase of one connection. The connection's thread reads
 * each request. Backends in memory (memory, null, pattern) are served right
 * there, in order: the client keeps many requests in flight all the same
 * (they wait in the socket), and answering one from memory is a single
 * gathering write of the header and views of the backend's pages. Other
 * backends (files, yours) may block, so their requests run on virtual
 * threads, up to {@link #WORKERS} at once, each with its own buffers, and
 * replies leave in the order they complete.
 */
final class Transmission {
    /** Extents per block status reply: bounds the reply (16 bytes each) and the work behind it. */
    static final int MAX_EXTENTS = 1 << 16;
    /** Requests served at once for a backend that may block; also bounds the buffers they hold. */
    static final int WORKERS = 8;
    /** A worker gives back a buffer larger than this after each request, so idle connections stay small. */
    private static final int KEEP_SCRATCH = 4 << 20;

    private final Transport transport;
    private final WireIn in;
    private final Handshake.Session session;
    private final Export export;
    private final Backend backend;
    private final Limits limits;
    private final long size;
    private final int allowedFlags;
    /** Replies are written whole under this lock. */
    private final ReentrantLock sendLock = new ReentrantLock();
    /** Workers not serving a request; null when requests are served on the connection's thread. */
    private final ArrayBlockingQueue<Worker> idle;
    private final Worker inline;

    Transmission(Transport transport, WireIn in, Handshake.Session session, Limits limits) {
        this.transport = transport;
        this.in = in;
        this.session = session;
        this.export = session.export();
        this.backend = export.backend();
        this.limits = limits;
        this.size = backend.size();
        this.allowedFlags = CmdFlag.FUA | CmdFlag.NO_HOLE | CmdFlag.REQ_ONE
                | (backend.canFastZero() ? CmdFlag.FAST_ZERO : 0)
                | (session.structured() ? CmdFlag.DF : 0)
                | (session.extended() ? CmdFlag.PAYLOAD_LEN : 0);
        boolean inMemory = backend instanceof SliceSource || backend instanceof PatternBackend;
        this.inline = inMemory ? new Worker() : null;
        this.idle = inMemory ? null : new ArrayBlockingQueue<>(WORKERS);
        for (int i = 0; idle != null && i < WORKERS; i++) {
            idle.add(new Worker());
        }
    }

    /** Serves requests until NBD_CMD_DISC or the client goes away. */
    void run() throws IOException {
        boolean extended = session.extended();
        int headerSize = extended ? 32 : 28;
        int magicWanted = extended ? Nbd.EXTENDED_REQUEST_MAGIC : Nbd.REQUEST_MAGIC;
        while (true) {
            ByteBuffer h = in.need(headerSize);
            int magic = h.getInt();
            int flags = Short.toUnsignedInt(h.getShort());
            int type = Short.toUnsignedInt(h.getShort());
            long cookie = h.getLong();
            long offset = h.getLong();
            long length = extended ? h.getLong() : Integer.toUnsignedLong(h.getInt());
            if (magic != magicWanted) {
                throw new Handshake.Violation("bad request magic 0x" + Integer.toHexString(magic));
            }
            // A write always carries its data: qemu 10 sends extended writes without NBD_CMD_FLAG_PAYLOAD_LEN.
            boolean hasPayload = type == Nbd.CMD_WRITE || (extended && (flags & CmdFlag.PAYLOAD_LEN) != 0);
            if (hasPayload && Long.compareUnsigned(length, limits.maximum()) > 0) {
                throw new Handshake.Violation(Nbd.commandName(type) + " payload of " + Long.toUnsignedString(length)
                        + " bytes is over the maximum of " + limits.maximum());
            }
            if (type == Nbd.CMD_DISC) {
                drain();
                return;
            }
            Worker w = inline != null ? inline : take();
            ByteBuffer payload = null;
            if (hasPayload) {
                payload = w.scratch((int) length);
                in.readFully(payload);
                payload.flip();
            }
            int error = check(type, flags, offset, length, hasPayload);
            if (error != 0) {
                w.sendError(cookie, offset, type, error, errorMessage(type, error));
                release(w);
                continue;
            }
            if (inline != null) {
                w.serve(type, flags, cookie, offset, length, payload);
                continue;
            }
            ByteBuffer data = payload;
            Thread.ofVirtual().start(() -> {
                try {
                    w.serve(type, flags, cookie, offset, length, data);
                } catch (IOException | RuntimeException e) {
                    // The reply could not be sent: the connection is broken, and the reader learns it.
                    transport.close();
                } finally {
                    release(w);
                }
            });
        }
    }

    private Worker take() throws IOException {
        try {
            return idle.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting for a worker");
        }
    }

    private void release(Worker w) {
        w.trim();
        if (idle != null) {
            idle.add(w);
        }
    }

    /** Waits until every request in flight has been answered (NBD_CMD_DISC: "handle all outstanding requests"). */
    private void drain() throws IOException {
        if (idle == null) {
            return;
        }
        List<Worker> all = new ArrayList<>();
        while (all.size() < WORKERS) {
            all.add(take());
        }
        idle.addAll(all);
    }

    /** The error the request earns before it reaches the backend, or 0 (proto.md "Error values"). */
    private int check(int type, int flags, long offset, long length, boolean hasPayload) {
        if (type > Nbd.CMD_BLOCK_STATUS || (flags & ~allowedFlags) != 0) {
            return Nbd.EINVAL;
        }
        if (hasPayload != (type == Nbd.CMD_WRITE)) {
            return Nbd.EINVAL;
        }
        int typeFlags = switch (type) {
            case Nbd.CMD_READ -> CmdFlag.DF;
            case Nbd.CMD_WRITE -> CmdFlag.PAYLOAD_LEN;
            case Nbd.CMD_WRITE_ZEROES -> CmdFlag.NO_HOLE | CmdFlag.FAST_ZERO;
            case Nbd.CMD_BLOCK_STATUS -> CmdFlag.REQ_ONE;
            default -> 0;
        };
        if ((flags & ~(typeFlags | CmdFlag.FUA)) != 0) {
            return Nbd.EINVAL;
        }
        boolean writes = type == Nbd.CMD_WRITE || type == Nbd.CMD_TRIM || type == Nbd.CMD_WRITE_ZEROES;
        if (writes && export.readOnly()) {
            return Nbd.EPERM;
        }
        if (type == Nbd.CMD_FLUSH) {
            return 0;
        }
        if (Long.compareUnsigned(offset, size) > 0 || Long.compareUnsigned(length, size - offset) > 0) {
            return type == Nbd.CMD_WRITE || type == Nbd.CMD_WRITE_ZEROES ? Nbd.ENOSPC : Nbd.EINVAL;
        }
        if (((offset | length) & (limits.minimum() - 1)) != 0) {
            return Nbd.EINVAL;
        }
        if (type == Nbd.CMD_READ && length > limits.maximum()) {
            return (flags & CmdFlag.DF) != 0 ? Nbd.EOVERFLOW : Nbd.EINVAL;
        }
        if (type == Nbd.CMD_BLOCK_STATUS && (!session.baseAllocation() || length == 0)) {
            // Length 0 as qemu-nbd: no extent (they are never empty) fits in it, and one may not reach past it.
            return Nbd.EINVAL;
        }
        return 0;
    }

    private String errorMessage(int type, int error) {
        String what = Nbd.commandName(type);
        return switch (error) {
            case Nbd.EPERM -> what + ": the export is read-only";
            case Nbd.ENOSPC -> what + ": beyond the end of the export";
            case Nbd.EOVERFLOW -> what + ": request too large for one chunk";
            default -> what + ": invalid request";
        };
    }

    /** Buffers for serving one request at a time. */
    private final class Worker {
        private final ByteBuffer header = ByteBuffer.allocateDirect(64);
        private final List<ByteBuffer> slices = new ArrayList<>();
        /** Payload and read buffer, grown on demand up to the maximum payload. */
        private ByteBuffer scratch = ByteBuffer.allocateDirect(0);

        private void send(ByteBuffer... buffers) throws IOException {
            sendLock.lock();
            try {
                transport.write(buffers);
            } finally {
                sendLock.unlock();
            }
        }

        void trim() {
            if (scratch.capacity() > KEEP_SCRATCH) {
                scratch = ByteBuffer.allocateDirect(0);
            }
        }

        /** A backend call; its failure becomes an error reply, unlike a failure to talk to the client. */
        private interface BackendCall {
            void run() throws IOException;
        }

        private boolean call(long cookie, long offset, int type, BackendCall c) throws IOException {
            try {
                c.run();
                return true;
            } catch (BackendException e) {
                sendError(cookie, offset, type, Nbd.errnoOfWireError(e.error()), String.valueOf(e.getMessage()));
            } catch (IOException | RuntimeException e) {
                sendError(cookie, offset, type, Nbd.EIO, String.valueOf(e.getMessage()));
            }
            return false;
        }

        private void serve(int type, int flags, long cookie, long offset, long length, ByteBuffer payload)
                throws IOException {
            boolean fua = (flags & CmdFlag.FUA) != 0;
            BackendCall c = switch (type) {
                case Nbd.CMD_READ -> {
                    read(cookie, offset, (int) length);
                    yield null;
                }
                case Nbd.CMD_BLOCK_STATUS -> {
                    blockStatus(cookie, offset, length, (flags & CmdFlag.REQ_ONE) != 0);
                    yield null;
                }
                case Nbd.CMD_WRITE -> () -> backend.write(offset, payload, fua);
                case Nbd.CMD_FLUSH -> backend::flush;
                case Nbd.CMD_TRIM -> () -> {
                    if (backend.canTrim() && length > 0) {
                        backend.trim(offset, length, fua);
                    }
                };
                case Nbd.CMD_WRITE_ZEROES -> () -> {
                    if (length > 0) {
                        backend.zero(offset, length, (flags & CmdFlag.NO_HOLE) == 0, fua);
                    }
                };
                case Nbd.CMD_CACHE -> () -> { };
                default -> throw new IllegalStateException("unchecked command " + type);
            };
            if (c != null && call(cookie, offset, type, c)) {
                sendOk(cookie, offset);
            }
        }

        private void read(long cookie, long offset, int length) throws IOException {
            slices.clear();
            if (backend instanceof SliceSource source) {
                source.slices(offset, length, slices);
            } else if (length > 0) {
                ByteBuffer data = scratch(length);
                if (!call(cookie, offset, Nbd.CMD_READ, () -> backend.read(offset, data))) {
                    return;
                }
                slices.add(data.flip());
            }
            header.clear();
            if (!session.structured()) {
                header.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(0).putLong(cookie);
            } else if (length == 0) {
                chunkHeader(Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, cookie, offset, 0);
            } else {
                chunkHeader(Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA, cookie, offset, 8L + length);
                header.putLong(offset);
            }
            ByteBuffer[] out = new ByteBuffer[1 + slices.size()];
            out[0] = header.flip();
            for (int i = 0; i < slices.size(); i++) {
                out[i + 1] = slices.get(i);
            }
            slices.clear();
            send(out);
        }

        private void blockStatus(long cookie, long offset, long length, boolean one) throws IOException {
            Extents extents = new Extents(length, one ? 1 : MAX_EXTENTS);
            if (!call(cookie, offset, Nbd.CMD_BLOCK_STATUS, () -> backend.extents(offset, length, extents))) {
                return;
            }
            if (extents.count == 0) {
                // A backend that said nothing: one extent, "data", is always true.
                extents.extent(length, 0);
            }
            int n = extents.count;
            boolean extended = session.extended();
            ByteBuffer body = ByteBuffer.allocate(extended ? 8 + 16 * n : 4 + 8 * n);
            body.putInt(Handshake.BASE_ALLOCATION_ID);
            if (extended) {
                body.putInt(n);
            }
            for (int i = 0; i < n; i++) {
                if (extended) {
                    body.putLong(extents.lengths[i]).putLong(extents.states[i]);
                } else {
                    body.putInt((int) extents.lengths[i]).putInt(extents.states[i]);
                }
            }
            header.clear();
            chunkHeader(Nbd.REPLY_FLAG_DONE, extended ? Nbd.REPLY_TYPE_BLOCK_STATUS_EXT : Nbd.REPLY_TYPE_BLOCK_STATUS,
                    cookie, offset, body.capacity());
            send(header.flip(), body.flip());
        }

        /** Collects a backend's extents, merged, clipped to the request, at most {@code max} of them. */
        private static final class Extents implements Backend.ExtentSink {
            private final long wanted;
            private final int max;
            long[] lengths = new long[16];
            int[] states = new int[16];
            int count;
            private long covered;

            Extents(long wanted, int max) {
                this.wanted = wanted;
                this.max = max;
            }

            @Override
            public boolean extent(long length, int flags) {
                if (length <= 0 || covered >= wanted && count > 0) {
                    return covered < wanted;
                }
                long take = Math.min(length, Math.max(wanted - covered, 1));
                int state = flags & (HOLE | ZERO);
                if (count > 0 && states[count - 1] == state) {
                    lengths[count - 1] += take;
                } else {
                    if (count == max) {
                        return false;
                    }
                    if (count == lengths.length) {
                        lengths = java.util.Arrays.copyOf(lengths, count * 2);
                        states = java.util.Arrays.copyOf(states, count * 2);
                    }
                    lengths[count] = take;
                    states[count++] = state;
                }
                covered += take;
                return covered < wanted;
            }
        }

        private void sendOk(long cookie, long offset) throws IOException {
            header.clear();
            if (session.extended()) {
                chunkHeader(Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, cookie, offset, 0);
            } else {
                header.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(0).putLong(cookie);
            }
            send(header.flip());
        }

        private void sendError(long cookie, long offset, int type, int error, String message) throws IOException {
            header.clear();
            if (!session.structured()) {
                header.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(cookie);
                send(header.flip());
                return;
            }
            byte[] m = message.getBytes(StandardCharsets.UTF_8);
            int mLength = Math.min(m.length, 1024);
            chunkHeader(Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR, cookie, offset, 6L + mLength);
            header.putInt(error).putShort((short) mLength);
            send(header.flip(), ByteBuffer.wrap(m, 0, mLength));
        }

        private void chunkHeader(int flags, int type, long cookie, long offset, long length) {
            if (session.extended()) {
                header.putInt(Nbd.EXTENDED_REPLY_MAGIC).putShort((short) flags).putShort((short) type).putLong(cookie)
                        .putLong(offset).putLong(length);
            } else {
                header.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) flags).putShort((short) type).putLong(cookie)
                        .putInt((int) length);
            }
        }

        private ByteBuffer scratch(int length) {
            if (scratch.capacity() < length) {
                int capacity = Math.max(256 << 10, Integer.highestOneBit(Math.max(1, length - 1)) << 1);
                // Direct buffers count against -XX:MaxDirectMemorySize and make the JVM collect
                // when it is reached, so dropped ones cannot pile up outside the heap.
                scratch = ByteBuffer.allocateDirect(Math.min(capacity, Math.max(length, limits.maximum())));
            }
            return scratch.clear().limit(length);
        }
    }

}
