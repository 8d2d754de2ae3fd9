package io.jnbd.internal.engine;

import io.jnbd.ChunkCallback;
import io.jnbd.ErrorHolder;
import io.jnbd.NbdException;
import io.jnbd.NbdExtent;
import io.jnbd.internal.Strerror;
import io.jnbd.internal.protocol.BlockStatusChunk;
import io.jnbd.internal.protocol.Errno;
import io.jnbd.internal.protocol.Nbd;
import io.jnbd.internal.protocol.ProtocolException;
import io.jnbd.internal.protocol.ReplyHeader;
import io.jnbd.internal.protocol.Requests;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The transmission phase of one connection.
 *
 * <p>Requests go out from the calling threads, whole, under the channel's
 * write lock. Replies are read by whoever holds the <em>reader role</em>: a
 * thread waiting for a synchronous command takes it and reads until its own
 * reply has arrived, completing the others' commands on the way (so a lone
 * synchronous caller reads its own reply, with no thread hand-off); when
 * asynchronous commands are in flight and no synchronous caller is waiting, a
 * background thread takes the role. Completions (callbacks, futures, waking
 * waiters) always run after the role is released.
 *
 * <p>When the connection ends, every command still in flight completes with
 * an error, exactly once, and the listener hears about it first.
 */
public final class Transmission {

    /** What the handle hears from the engine. */
    public interface Listener {
        /**
         * Once, when the connection ends, before the commands in flight
         * complete: {@code cause} null means a clean close after NBD_CMD_DISC.
         */
        void connectionEnded(NbdError cause);

        /** An asynchronous command completed (for poll). */
        void progress();
    }

    private final WireChannel ch;
    private final Negotiated negotiated;
    private final boolean structured;
    private final boolean extended;
    private final Debug debug;
    private final Listener listener;
    private final String name;

    /** Held while reading replies; guards {@link #header} and the read side of {@link #ch}. */
    private final ReentrantLock role = new ReentrantLock();
    private final ReplyHeader header = new ReplyHeader();
    /** Synchronous commands whose callers may take the reader role. */
    private final ConcurrentLinkedQueue<Command> syncWaiters = new ConcurrentLinkedQueue<>();
    private volatile Thread background;
    private volatile boolean ended;
    private final ReentrantLock sendLock = new ReentrantLock();
    /** Guarded by sendLock: every request header is encoded here and written at once. */
    private final ByteBuffer requestHeader = ByteBuffer.allocateDirect(Requests.EXTENDED_SIZE);
    /** Threads in poll(): while there are some, a read stays posted so that a hang-up is noticed. */
    private final java.util.concurrent.atomic.AtomicInteger watchers = new java.util.concurrent.atomic.AtomicInteger();

    // Guarded by this.
    private final InFlightTable inFlight = new InFlightTable();
    /** Asynchronous commands completed but not yet retired, in completion order. */
    private final Map<Long, Command> completed = new LinkedHashMap<>();
    /**
     * The command whose reply message the reader role is reading: its buffer
     * is being written, so {@link #end} leaves it to the reader to complete.
     */
    private Command reading;
    /** The command whose request is being written: like {@link #reading}, end() leaves it to its sender. */
    private Command sending;
    /** end() took {@link #sending} out of the table without failing it. */
    private boolean sendingOrphaned;
    private long nextCookie = 1;
    private boolean discSent;
    private NbdError endCause;
    private boolean endReported;

    public Transmission(WireChannel ch, Negotiated negotiated, Debug debug, Listener listener, String name) {
        this.ch = ch;
        this.negotiated = negotiated;
        this.structured = negotiated.structuredReplies;
        this.extended = negotiated.extendedHeaders;
        this.debug = debug;
        this.listener = listener;
        this.name = name;
    }

    /** Replies are due, or the server's hang-up after NBD_CMD_DISC, or a poller waits for anything at all. */
    private synchronized boolean awaitingServer() {
        return !inFlight.isEmpty() || discSent || watchers.get() > 0;
    }

    /**
     * libnbd's poll reads from the server even with nothing in flight, which is
     * how a caller learns that an idle server died. While a caller polls, keep
     * a read posted (on the background reader) for the same effect.
     */
    public void watch(boolean on) {
        if (on) {
            watchers.incrementAndGet();
            handOff();
        } else {
            watchers.decrementAndGet();
        }
    }

    /** Commands sent and not yet answered. */
    public synchronized int inFlight() {
        return inFlight.size();
    }

    public synchronized boolean discSent() {
        return discSent;
    }

    /** True on a thread that is running a callback of this connection with the reader role held. */
    public boolean inReaderCallback() {
        return role.isHeldByCurrentThread();
    }

    public WireChannel channel() {
        return ch;
    }

    // ------------------------------------------------------------------ sending

    /**
     * Sends a command. On return it is in flight (or already done). A command
     * that cannot be sent because the connection has ended or NBD_CMD_DISC was
     * sent fails with an NbdError and is never in flight.
     */
    public long submit(Command c) throws NbdError {
        // Once registered, c may complete (the connection may end) and, if asynchronous, be recycled and
        // reused at any time: what the write needs is read from it before.
        int type = c.type;
        boolean disc = type == Nbd.CMD_DISC;
        boolean sync = c.sync;
        ByteBuffer body = type == Nbd.CMD_WRITE ? c.buffer : c.payload;
        long length = c.payload != null ? c.payload.remaining() : c.count;
        int flags = c.flags;
        long offset = c.offset;
        IOException failed = null;
        Command orphan;
        long cookie;
        // Cookie, registration and write happen in one order under the send lock, so that
        // every command registered before NBD_CMD_DISC also goes out before it.
        sendLock.lock();
        try {
            synchronized (this) {
                if (ended) {
                    throw refuse(c, new NbdError("connection is closed"
                            + (endCause == null ? "" : ": " + endCause.getMessage()), Errno.ENOTCONN, false));
                }
                if (discSent) {
                    throw refuse(c, new NbdError("cannot request more commands after NBD_CMD_DISC", Errno.EINVAL,
                            false));
                }
                cookie = nextCookie++;
                c.cookie = cookie;
                if (disc) {
                    discSent = true;
                } else {
                    inFlight.put(c);
                    sending = c;
                }
            }
            ByteBuffer h = requestHeader.clear();
            Requests.encode(h, extended, flags, type, cookie, offset, length);
            h.flip();
            try {
                if (body != null) {
                    ch.write(h, body);
                } else {
                    ch.write(h);
                }
                ch.chunkSent();
                if (disc) {
                    // As libnbd: nothing follows NBD_CMD_DISC, and the server may wait for our EOF.
                    ch.transport().shutdownOutput();
                }
            } catch (IOException e) {
                failed = e;
            }
        } finally {
            synchronized (this) {
                orphan = sendingOrphaned ? c : null;
                sending = null;
                sendingOrphaned = false;
            }
            sendLock.unlock();
        }
        if (failed != null) {
            // As when a read fails: the stream is out of step, and closing it wakes a reader blocked
            // inside a reply, which then completes that command with this error.
            end(Negotiator.ioError(failed));
            ch.close();
        } else if (debug.enabled()) {
            debug.emit("transmission", "sent " + Nbd.commandName(type) + " cookie " + cookie);
        }
        if (orphan != null) {
            // The connection ended while the request was being written: its completion is ours to run.
            failForEndAndComplete(orphan);
        }
        if (disc) {
            c.markDone();
        }
        if (!sync) {
            // Someone must read: the replies, or after NBD_CMD_DISC the server hanging up.
            handOff();
        }
        return cookie;
    }

    /** A command that will never be sent: its read buffer is zeroed now if it was to be, as libnbd would have. */
    private static NbdError refuse(Command c, NbdError why) {
        c.zeroIfPending();
        return why;
    }

    // ------------------------------------------------------------------ reading

    /**
     * Waits for a synchronous command, reading replies in this thread whenever
     * no other thread is.
     */
    public void await(Command c) {
        c.waiter = Thread.currentThread();
        syncWaiters.add(c);
        boolean interrupted = false;
        try {
            while (!c.isDone()) {
                if (role.tryLock()) {
                    readWithRole(c);
                } else {
                    LockSupport.park(this);
                    if (Thread.interrupted()) {
                        // An NBD command cannot be recalled: keep waiting, restore the flag after.
                        interrupted = true;
                    }
                }
            }
        } finally {
            syncWaiters.remove(c);
            handOff();
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Makes sure someone reads while commands are in flight: a waiting
     * synchronous caller if there is one, else the background reader.
     */
    private void handOff() {
        if (ended || role.isLocked() || !awaitingServer()) {
            return;
        }
        if (!syncWaiters.isEmpty()) {
            for (Command w : syncWaiters) {
                if (!w.isDone()) {
                    LockSupport.unpark(w.waiter);
                    return;
                }
            }
        }
        Thread bg = background;
        if (bg == null) {
            synchronized (this) {
                bg = background;
                if (bg == null && !ended) {
                    bg = Thread.ofPlatform().daemon().name(name).unstarted(this::backgroundLoop);
                    background = bg;
                    bg.start();
                    return;
                }
            }
        }
        if (bg != null) {
            LockSupport.unpark(bg);
        }
    }

    /** The background reader: reads while asynchronous commands are in flight and nobody else is reading. */
    private void backgroundLoop() {
        while (!ended) {
            if (!awaitingServer() || !role.tryLock()) {
                LockSupport.park(this);
                continue;
            }
            readWithRole(null);
            // A synchronous caller that arrived meanwhile should read its own reply.
            handOff();
        }
    }

    /**
     * With the reader role held: reads one reply message (unless {@code mine}
     * is already done), releases the role, then completes what finished, or
     * ends the connection if the read failed.
     */
    private void readWithRole(Command mine) {
        Command finished = null;
        Command orphan = null;
        NbdError failure = null;
        IOException readError = null;
        Error error = null;
        try {
            if (mine == null || !mine.isDone()) {
                finished = readOne();
            }
        } catch (IOException e) {
            readError = e;
        } catch (ProtocolException e) {
            failure = new NbdError(e.getMessage(), e.errno(), true);
        } catch (RuntimeException | Error e) {
            failure = new NbdError("internal error reading a reply: " + e, Errno.EIO, true, e);
            if (e instanceof Error err) {
                // A chunk or extent callback's AssertionError, say: end the connection cleanly, then rethrow.
                error = err;
            }
        } finally {
            if (readError != null || failure != null) {
                orphan = stopReading();
            }
            role.unlock();
        }
        if (readError != null) {
            readFailed(readError);
        } else if (failure != null) {
            fatal(failure);
        } else if (finished != null) {
            complete(finished);
        }
        if (orphan != null) {
            failForEndAndComplete(orphan);
        }
        if (error != null) {
            throw error;
        }
    }

    /**
     * The read of a message failed: the command it was for stays in flight, so
     * that ending the connection fails it, unless the connection ended meanwhile
     * and left it to this reader (returned, to be failed and completed).
     */
    private synchronized Command stopReading() {
        Command c = reading;
        reading = null;
        return ended ? c : null;
    }

    /**
     * Reads one reply message (a simple reply or one chunk); returns its
     * command if that message finished it. Caller holds the reader role.
     */
    private Command readOne() throws IOException, ProtocolException {
        if (ended) {
            return null;
        }
        ByteBuffer b;
        try {
            b = ch.need(4);
        } catch (ConnectionClosedException eof) {
            if (discSent()) {
                throw new HungUp();
            }
            throw eof;
        }
        int size = ReplyHeader.sizeFor(b.getInt(b.position()), structured, extended);
        header.decode(ch.need(size));
        ch.chunkReceived();
        Command c;
        synchronized (this) {
            c = inFlight.get(header.cookie);
            reading = c;
        }
        if (c == null) {
            throw new ProtocolException("server sent a reply for unknown cookie " + Long.toUnsignedString(header.cookie));
        }
        if (header.kind == ReplyHeader.Kind.SIMPLE) {
            simpleReply(c);
        } else {
            chunk(c);
        }
        boolean last = header.isDone();
        synchronized (this) {
            reading = null;
            if (ended) {
                // The connection ended while this message was read; end() took c out of the table and left it to us.
                if (!last) {
                    failForEnd(c);
                    return c;
                }
            } else if (last) {
                inFlight.remove(c.cookie);
            } else {
                return null;
            }
        }
        if (c.type == Nbd.CMD_READ && c.error == 0 && c.dataSeen != c.count) {
            c.fail(Errno.EPROTO, "server sent " + c.dataSeen + " bytes of data for a read of " + c.count);
        }
        return c;
    }

    private void simpleReply(Command c) throws IOException {
        if (c.type == Nbd.CMD_READ && structured) {
            // The spec forbids this, but the framing is intact: like libnbd, fail just this read.
            c.fail(Errno.EPROTO, "server sent a simple reply to NBD_CMD_READ after structured replies were "
                    + "negotiated");
        }
        if (header.error != 0) {
            c.fail(Nbd.errnoOfWireError(header.error), null);
        } else if (c.type == Nbd.CMD_READ) {
            ch.readFully(c.buffer, c.buffer.position(), (int) c.count);
            c.zeroPending = false;
            c.dataSeen += c.count;
            if (c.chunkCallback != null) {
                // As libnbd: a chunk callback sees the data of a simple reply as one data chunk.
                callChunk(c, c.buffer.slice(c.buffer.position(), (int) c.count), c.offset, ChunkCallback.READ_DATA);
            }
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
        if (c.zeroPending && n != c.count) {
            // Other chunks will fill the rest, or not: zero it all first, as if done at submission.
            c.zeroBuffer();
        }
        ch.readFully(c.buffer, index, (int) n);
        c.zeroPending = false;
        c.dataSeen += n;
        if (c.chunkCallback != null) {
            callChunk(c, c.buffer.slice(index, (int) n), off, ChunkCallback.READ_DATA);
        }
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
        if (c.zeroPending) {
            c.zeroBuffer();
        } else {
            Command.zero(slice);
        }
        c.dataSeen += n;
        callChunk(c, slice, off, ChunkCallback.READ_HOLE);
    }

    private void callChunk(Command c, ByteBuffer slice, long off, int status) {
        if (c.chunkCallback == null) {
            return;
        }
        ErrorHolder err = c.errorHolder;
        err.set(c.error);
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
        String context = negotiated.metaContextName(id);
        if (context == null) {
            debug.log("transmission", "ignoring block status for unknown meta context id " + id);
            return;
        }
        if (c.extentCallback == null && c.extent64Callback == null) {
            return;
        }
        long size = negotiated.export.size;
        BlockStatusChunk.Cooked cooked = BlockStatusChunk.cook(pairs, c.extent64Callback != null,
                Long.compareUnsigned(c.offset, size) <= 0 ? size - c.offset : 0);
        if (cooked.error() != 0) {
            debug.log("transmission", "server's block status extents were truncated");
            c.fail(cooked.error(), "server sent unusable block status extents");
        }
        ErrorHolder err = c.errorHolder;
        err.set(c.error);
        int r;
        try {
            r = c.extent64Callback != null
                    ? c.extent64Callback.call(context, c.offset, extents64(cooked), err)
                    : c.extentCallback.call(context, c.offset, entries32(cooked), err);
        } catch (RuntimeException e) {
            c.fail(Errno.EIO, "extent callback threw " + e);
            return;
        }
        if (r == -1) {
            c.fail(err.get() != 0 ? err.get() : Errno.EPROTO, "extent callback failed");
        }
    }

    private static int[] entries32(BlockStatusChunk.Cooked cooked) {
        long[] p = cooked.pairs();
        int[] entries = new int[p.length];
        for (int i = 0; i < p.length; i++) {
            entries[i] = (int) p[i];
        }
        return entries;
    }

    private static NbdExtent[] extents64(BlockStatusChunk.Cooked cooked) {
        long[] p = cooked.pairs();
        NbdExtent[] extents = new NbdExtent[cooked.count()];
        for (int i = 0; i < extents.length; i++) {
            extents[i] = new NbdExtent(p[2 * i], p[2 * i + 1]);
        }
        return extents;
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

    // ------------------------------------------------------------------ completion

    /**
     * Runs a finished command's completion: callback, future, waiter. Never
     * called with a lock held, so callbacks may issue further commands.
     */
    private void complete(Command c) {
        // A read that failed before its data covered the buffer.
        c.zeroIfPending();
        boolean sync = c.sync;
        boolean retired = sync;
        if (c.completion != null) {
            ErrorHolder err = c.errorHolder;
            err.set(c.error);
            int r;
            try {
                r = c.completion.call(err);
            } catch (RuntimeException e) {
                debug.log("transmission", "completion callback threw " + e);
                r = -1;
                if (err.get() == 0) {
                    err.set(Errno.EIO);
                }
            }
            if (r == -1 && err.get() != 0 && err.get() != c.error) {
                c.error = err.get();
                c.errorMessage = "completion callback failed";
            }
            retired |= r == 1;
        }
        if (c.future != null) {
            retired = true;
            if (c.error == 0) {
                c.future.complete(null);
            } else {
                c.future.completeExceptionally(exception(c, c.method));
            }
        }
        Thread w = c.waiter;
        if (retired) {
            c.markDone();
        } else {
            // Waiting to be retired, it keeps its status only: the caller's callbacks and buffers may go.
            c.release();
            c.markDone();
            // Last: from here aioCommandCompleted may retire and recycle it.
            synchronized (this) {
                completed.put(c.cookie, c);
            }
        }
        // A synchronous command now belongs to its waiter again, which recycles it.
        if (w != null) {
            LockSupport.unpark(w);
        }
        if (!sync) {
            listener.progress();
            if (retired) {
                c.recycle();
            }
        }
    }

    /** The exception a failed command surfaces as, its message starting with the method name. */
    public static NbdException exception(Command c, String method) {
        String detail = c.errorMessage() != null ? c.errorMessage() : Nbd.commandName(c.type) + ": command failed";
        // A system call's error (a reset connection) already ends with its strerror text.
        String reason = Strerror.of(c.error());
        return new NbdException(method + ": " + (detail.endsWith(reason) ? detail : detail + ": " + reason),
                c.error());
    }

    /**
     * libnbd's nbd_aio_command_completed: true and retired if {@code cookie}
     * completed successfully; false if still in flight or unknown; an
     * NbdException (and retired) if it failed.
     */
    public boolean retire(long cookie, String method) {
        Command c;
        synchronized (this) {
            c = completed.remove(cookie);
        }
        if (c == null) {
            return false;
        }
        NbdException failure = c.error != 0 ? exception(c, method) : null;
        c.recycle();
        if (failure != null) {
            throw failure;
        }
        return true;
    }

    /** libnbd's nbd_aio_peek_command_completed: a completed cookie, 0 if none yet, -1 if nothing in flight. */
    public synchronized long peekCompleted() {
        Iterator<Long> it = completed.keySet().iterator();
        if (it.hasNext()) {
            return it.next();
        }
        return inFlight.isEmpty() ? -1 : 0;
    }

    // ------------------------------------------------------------------ ending

    /** Closes the connection from our side: in-flight commands fail, readers return. */
    public void terminate(String why) {
        end(new NbdError(why, Errno.ESHUTDOWN, true));
        ch.close();
        Thread bg = background;
        if (bg != null && bg != Thread.currentThread()) {
            LockSupport.unpark(bg);
            try {
                bg.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void fatal(NbdError cause) {
        end(cause);
        ch.close();
    }

    /** End of stream between replies after NBD_CMD_DISC: the server hung up as asked. */
    private static final class HungUp extends IOException {
        private static final long serialVersionUID = 1L;

        HungUp() {
            super("server closed the connection after NBD_CMD_DISC");
        }
    }

    /** Ends the connection after a read failed; a hang-up after NBD_CMD_DISC is a clean close. */
    private void readFailed(IOException e) {
        end(e instanceof HungUp ? null : Negotiator.ioError(e));
        ch.close();
    }

    /** Fails a command that was in flight when the connection ended, then completes it. */
    private void failForEndAndComplete(Command c) {
        failForEnd(c);
        complete(c);
    }

    /** Fails a command that was in flight when the connection ended, with the reason it ended. */
    private void failForEnd(Command c) {
        NbdError cause;
        synchronized (this) {
            cause = endCause;
        }
        c.fail(cause == null ? Errno.ENOTCONN : cause.errno(),
                cause == null ? "server closed the connection before replying" : cause.getMessage());
    }

    /** Ends the connection once: the listener first, then every command in flight fails. */
    private void end(NbdError cause) {
        List<Command> failed;
        synchronized (this) {
            if (endReported) {
                return;
            }
            endReported = true;
            ended = true;
            endCause = cause;
            failed = inFlight.drain();
            // The reader is writing into that one's buffer: it completes it when done.
            failed.remove(reading);
            sendingOrphaned = failed.remove(sending);
        }
        if (cause != null) {
            debug.log("transmission", "connection ended: " + cause.getMessage());
        }
        listener.connectionEnded(cause);
        for (Command c : failed) {
            failForEndAndComplete(c);
        }
        Thread bg = background;
        if (bg != null) {
            LockSupport.unpark(bg);
        }
    }
}
