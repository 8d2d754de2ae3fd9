package io.jnbd.testing;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A one-connection NBD server that plays a script, for tests of how the client
 * copes with a server that breaks the protocol in ways real servers never do.
 *
 * <p>It listens on a Unix socket in a fresh temporary directory and runs the
 * script on a background thread once the client connects. The script drives
 * the conversation byte by byte with the helpers below, so it can send exactly
 * the wrong thing. When the script returns, the server hangs up politely: it
 * shuts down its output (the client sees end of stream, not a reset) and reads
 * until the client closes.
 *
 * <p>The protocol numbers are written out here from the spec rather than taken
 * from the library under test, so that a wrong constant there cannot hide.
 *
 * <p>{@link #close()} stops everything and fails the test if the script did
 * not run to its end: the client did not say what the script expected.
 */
public final class ScriptedServer implements AutoCloseable {
    public static final long NBDMAGIC = 0x4e42444d41474943L;
    public static final long IHAVEOPT = 0x49484156454F5054L;
    public static final long OLDSTYLE_MAGIC = 0x0000420281861253L;
    public static final long REPLY_MAGIC_OPT = 0x0003e889045565a9L;
    public static final int REQUEST_MAGIC = 0x25609513;
    public static final int EXTENDED_REQUEST_MAGIC = 0x21e41c71;
    public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;
    public static final int EXTENDED_REPLY_MAGIC = 0x6e8a278c;

    public static final int OPT_LIST = 3;
    public static final int OPT_GO = 7;
    public static final int OPT_STRUCTURED_REPLY = 8;
    public static final int OPT_SET_META_CONTEXT = 10;
    public static final int OPT_EXTENDED_HEADERS = 11;

    public static final int REP_ACK = 1;
    public static final int REP_SERVER = 2;
    public static final int REP_INFO = 3;
    public static final int REP_META_CONTEXT = 4;
    public static final int REP_ERR_UNSUP = 0x80000001;
    public static final int INFO_EXPORT = 0;

    /** NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH: a writable export, enough for every test here. */
    public static final int EXPORT_FLAGS = 1 | 4;

    public static final int CMD_READ = 0;
    public static final int CMD_WRITE = 1;
    public static final int CMD_DISC = 2;
    public static final int CMD_BLOCK_STATUS = 7;

    public static final int REPLY_FLAG_DONE = 1;
    public static final int REPLY_TYPE_NONE = 0;
    public static final int REPLY_TYPE_OFFSET_DATA = 1;
    public static final int REPLY_TYPE_OFFSET_HOLE = 2;
    public static final int REPLY_TYPE_BLOCK_STATUS = 5;
    public static final int REPLY_TYPE_ERROR = 0x8001;

    /** Meta context id the server gives the first context the client asks for. */
    public static final int META_CONTEXT_ID = 1;

    /** What the script does with the connection. */
    @FunctionalInterface
    public interface Script {
        void play(ScriptedServer server) throws Exception;
    }

    /** Which reply forms the server agrees to during {@link #handshake}. */
    public enum Replies { SIMPLE, STRUCTURED, EXTENDED }

    /** An option the client sent. */
    public record Option(int option, byte[] data) {
    }

    /** A request the client sent (a write's payload is read and dropped). */
    public record Request(int flags, int type, long cookie, long offset, long length) {
    }

    private final Path dir;
    private final Path socket;
    private final ServerSocketChannel listener;
    private final Thread thread;
    /** The client's messages in order, as "option 7" or "command 0 cookie 1": for asserts after the fact. */
    private final List<String> received = new CopyOnWriteArrayList<>();
    private volatile SocketChannel connection;
    private volatile Throwable failure;
    private volatile boolean finished;
    private DataInputStream in;
    private DataOutputStream out;

    private ScriptedServer(Script script) throws IOException {
        dir = Servers.tempDir();
        socket = dir.resolve("s");
        listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        listener.bind(UnixDomainSocketAddress.of(socket));
        thread = Thread.ofPlatform().daemon().name("scripted-nbd-server").start(() -> serve(script));
    }

    /** Listens now; plays {@code script} once a client connects. */
    public static ScriptedServer start(Script script) throws IOException {
        return new ScriptedServer(script);
    }

    /** The path to give {@code connectUnix}. */
    public String socket() {
        return socket.toString();
    }

    public List<String> received() {
        return List.copyOf(received);
    }

    private void serve(Script script) {
        try (SocketChannel c = listener.accept()) {
            connection = c;
            if (!listener.isOpen()) {
                // close() ran before it could see this connection: it will not close it, so stop here.
                return;
            }
            in = new DataInputStream(Channels.newInputStream(c));
            // Buffered, and flushed whenever the script turns to listen: each turn of the
            // conversation leaves in one write, so the client never sees half a message
            // because of how the script happened to write it.
            out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(c), 1 << 16));
            script.play(this);
            finished = true;
            hangUp();
        } catch (Throwable t) {
            failure = t;
        }
    }

    // ---------------------------------------------------------------- handshake

    /** A fixed newstyle greeting (with NO_ZEROES); reads the client's flags and returns them. */
    public int greet() throws IOException {
        out.writeLong(NBDMAGIC);
        out.writeLong(IHAVEOPT);
        out.writeShort(1 | 2);
        out.flush();
        return in.readInt();
    }

    public Option readOption() throws IOException {
        out.flush();
        long magic = in.readLong();
        if (magic != IHAVEOPT) {
            throw new IOException("client sent option magic 0x" + Long.toHexString(magic));
        }
        int option = in.readInt();
        byte[] data = new byte[in.readInt()];
        in.readFully(data);
        received.add("option " + option);
        return new Option(option, data);
    }

    /** Reads an option and checks it is {@code expected}. */
    public Option readOption(int expected) throws IOException {
        Option o = readOption();
        if (o.option() != expected) {
            throw new IOException("client sent option " + o.option() + ", script expected " + expected);
        }
        return o;
    }

    public void optionReply(int option, int type, byte[] payload) throws IOException {
        optionReplyHeader(REPLY_MAGIC_OPT, option, type, payload.length);
        out.write(payload);
    }

    /** Just the 20-byte header, so that a script can claim a length it never sends. */
    public void optionReplyHeader(long magic, int option, int type, int length) throws IOException {
        out.writeLong(magic);
        out.writeInt(option);
        out.writeInt(type);
        out.writeInt(length);
    }

    /** NBD_REP_INFO carrying NBD_INFO_EXPORT. */
    public void exportInfo(int option, long size, int flags) throws IOException {
        optionReply(option, REP_INFO, ByteBuffer.allocate(12).putShort((short) INFO_EXPORT).putLong(size)
                .putShort((short) flags).array());
    }

    /**
     * A well-behaved handshake up to the end of NBD_OPT_GO: agrees to the
     * reply forms of {@code replies} and refuses the others, grants the first
     * meta context asked for, and serves an export of {@code size} bytes.
     */
    public void handshake(Replies replies, long size) throws IOException {
        greet();
        while (true) {
            Option o = readOption();
            switch (o.option()) {
                case OPT_EXTENDED_HEADERS -> optionReply(o.option(),
                        replies == Replies.EXTENDED ? REP_ACK : REP_ERR_UNSUP, new byte[0]);
                case OPT_STRUCTURED_REPLY -> optionReply(o.option(),
                        replies == Replies.STRUCTURED ? REP_ACK : REP_ERR_UNSUP, new byte[0]);
                case OPT_SET_META_CONTEXT -> {
                    optionReply(o.option(), REP_META_CONTEXT, metaContext(firstQuery(o.data())));
                    optionReply(o.option(), REP_ACK, new byte[0]);
                }
                case OPT_GO -> {
                    exportInfo(o.option(), size, EXPORT_FLAGS);
                    optionReply(o.option(), REP_ACK, new byte[0]);
                    return;
                }
                default -> optionReply(o.option(), REP_ERR_UNSUP, new byte[0]);
            }
        }
    }

    /** The first query of NBD_OPT_SET_META_CONTEXT's payload (name length, name, count, queries). */
    private static String firstQuery(byte[] data) {
        ByteBuffer b = ByteBuffer.wrap(data);
        b.position(4 + b.getInt());
        b.getInt();
        byte[] q = new byte[b.getInt()];
        b.get(q);
        return new String(q, StandardCharsets.UTF_8);
    }

    private static byte[] metaContext(String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(4 + n.length).putInt(META_CONTEXT_ID).put(n).array();
    }

    // ---------------------------------------------------------------- transmission

    /** Reads one request, compact or extended, and checks its magic. */
    public Request readRequest() throws IOException {
        out.flush();
        int magic = in.readInt();
        if (magic != REQUEST_MAGIC && magic != EXTENDED_REQUEST_MAGIC) {
            throw new IOException("client sent request magic 0x" + Integer.toHexString(magic));
        }
        int flags = in.readUnsignedShort();
        int type = in.readUnsignedShort();
        long cookie = in.readLong();
        long offset = in.readLong();
        long length = magic == REQUEST_MAGIC ? Integer.toUnsignedLong(in.readInt()) : in.readLong();
        if (type == CMD_WRITE) {
            in.skipNBytes(length);
        }
        received.add("command " + type + " cookie " + cookie);
        return new Request(flags, type, cookie, offset, length);
    }

    /** Reads a request and checks it is of {@code type}. */
    public Request readRequest(int type) throws IOException {
        Request r = readRequest();
        if (r.type() != type) {
            throw new IOException("client sent command " + r.type() + ", script expected " + type);
        }
        return r;
    }

    /** A simple reply; {@code data} follows the header (a read's payload, or anything at all). */
    public void simpleReply(long cookie, int error, byte[] data) throws IOException {
        out.writeInt(SIMPLE_REPLY_MAGIC);
        out.writeInt(error);
        out.writeLong(cookie);
        out.write(data);
    }

    /** A structured reply chunk whose length field is the payload's. */
    public void chunk(long cookie, int flags, int type, byte[] payload) throws IOException {
        chunkHeader(cookie, flags, type, payload.length);
        out.write(payload);
    }

    /** Just a structured chunk header, so that a script can claim a length it never sends. */
    public void chunkHeader(long cookie, int flags, int type, int length) throws IOException {
        out.writeInt(STRUCTURED_REPLY_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeInt(length);
    }

    /** Just an extended reply header (offset field 0). */
    public void extendedHeader(long cookie, int flags, int type, long length) throws IOException {
        out.writeInt(EXTENDED_REPLY_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(cookie);
        out.writeLong(0);
        out.writeLong(length);
    }

    /** NBD_REPLY_TYPE_OFFSET_DATA payload: the offset, then {@code length} bytes of 0xAA. */
    public static byte[] offsetData(long offset, int length) {
        ByteBuffer b = ByteBuffer.allocate(8 + length).putLong(offset);
        while (b.hasRemaining()) {
            b.put((byte) 0xAA);
        }
        return b.array();
    }

    /** NBD_REPLY_TYPE_OFFSET_HOLE payload. */
    public static byte[] offsetHole(long offset, int length) {
        return ByteBuffer.allocate(12).putLong(offset).putInt(length).array();
    }

    /** Any bytes at all. */
    public void raw(byte[] bytes) throws IOException {
        out.write(bytes);
    }

    /** Stops reading from the client: its next write fails with a broken pipe, while replies still flow. */
    public void stopReading() throws IOException {
        out.flush();
        connection.shutdownInput();
    }

    /**
     * Sends what the script wrote so far, then reads exactly {@code n} bytes
     * of whatever the client sends next (the start of a TLS ClientHello, say).
     */
    public byte[] readRaw(int n) throws IOException {
        out.flush();
        byte[] b = new byte[n];
        in.readFully(b);
        received.add("raw " + n);
        return b;
    }

    /**
     * Ends the conversation once the script is done, as a server that exits
     * does: shuts down output, so the client reads end of stream, and reads
     * whatever the client still sends until it closes. Reading on is what
     * keeps the kernel from answering the client with a connection reset.
     */
    private void hangUp() {
        try {
            out.flush();
            connection.shutdownOutput();
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException e) {
            // The client or close() closed the connection first: either way it is over.
        }
    }

    // ---------------------------------------------------------------- lifecycle

    /**
     * Stops the server: closes the socket and the connection, waits for the
     * script's thread, removes the directory. Throws if the script failed or
     * had not finished, naming what the client sent.
     */
    @Override
    public void close() throws IOException {
        listener.close();
        SocketChannel c = connection;
        if (c != null) {
            c.close();
        }
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(socket);
        Files.deleteIfExists(dir);
        if (thread.isAlive()) {
            throw new AssertionError("scripted server thread did not stop");
        }
        if (!finished) {
            throw new AssertionError("script did not run to its end; the client sent " + received, failure);
        }
    }
}
