package io.jnbd.tools.copy;

import io.jnbd.BlockSize;
import io.jnbd.CmdFlag;
import io.jnbd.ExtentCallback;
import io.jnbd.NbdException;
import io.jnbd.NbdExtent;
import io.jnbd.NbdHandle;
import io.jnbd.tools.Server;
import io.jnbd.tools.ToolException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** An NBD server, by URI or run as a subprocess with socket activation; one handle per connection. */
final class NbdEndpoint extends Endpoint {
    private static final String BASE_ALLOCATION = "base:allocation";

    private final Server server;
    private final boolean source;
    private final boolean wantExtents;
    private final PrintStream debug;
    private final List<NbdHandle> handles = new ArrayList<>();
    private boolean canZero;

    /**
     * Connects the first handle.
     *
     * @param wantExtents ask for base:allocation (a source, without --no-extents)
     * @param debug       where libnbd-style debug messages go (--verbose), or null
     */
    NbdEndpoint(Server server, boolean source, boolean wantExtents, PrintStream debug) {
        super(server instanceof Server.Command c ? c.argv().getFirst() : server.toString());
        this.server = server;
        this.source = source;
        this.wantExtents = wantExtents;
        this.debug = debug;
        NbdHandle h = open();
        canZero = h.canZero();
        size = h.getSize();
        long block = h.getBlockSize(BlockSize.PREFERRED);
        preferred = Sizes.isPowerOfTwo(block) ? block : 4096;
    }

    private NbdHandle open() {
        NbdHandle h = new NbdHandle();
        handles.add(h);
        try {
            if (debug != null) {
                String handleName = (source ? "src" : "dst") + (handles.size() - 1);
                h.setHandleName(handleName);
                h.setDebugCallback((context, message) -> {
                    debug.println("libnbd: debug: " + handleName + ": " + context + ": " + message);
                    return 0;
                });
                h.setDebug(true);
            }
            if (wantExtents) {
                h.addMetaContext(BASE_ALLOCATION);
            }
            h.setUriAllowLocalFile(true); // ?tls-psk-file= in the URI
            // A failed read fails the copy before its buffer is written anywhere, so the
            // buffer need not be zeroed first (a memset of every request: a tenth of a reader's CPU).
            h.setPreadInitialize(false);
            server.connect(h, true);
        } catch (NbdException e) {
            throw new ToolException(1, name + ": " + e.getMessage(), e);
        }
        return h;
    }

    @Override
    String kind() {
        return "nbd_ops";
    }

    @Override
    boolean isReadOnly() {
        return handles.getFirst().isReadOnly();
    }

    @Override
    boolean canExtents() {
        try {
            return handles.getFirst().canMetaContext(BASE_ALLOCATION);
        } catch (NbdException e) {
            // The server took no meta context (structured replies refused, say): read everything.
            return false;
        }
    }

    @Override
    boolean canMultiConn() {
        return handles.getFirst().canMultiConn();
    }

    @Override
    void startMultiConn(int connections) {
        while (handles.size() < connections) {
            open();
        }
    }

    @Override
    void flush() {
        for (NbdHandle h : handles) {
            call(() -> h.flush());
        }
    }

    @Override
    void close() {
        ToolException failure = null;
        for (NbdHandle h : handles) {
            try {
                h.shutdown();
            } catch (NbdException e) {
                if (failure == null) {
                    failure = failure(e);
                }
            }
            h.close();
        }
        handles.clear();
        if (failure != null) {
            throw failure;
        }
    }

    /** Closes every connection without the orderly shutdown: the copy has failed already. */
    @Override
    void abort() {
        handles.forEach(NbdHandle::close);
        handles.clear();
    }

    @Override
    int read(int conn, ByteBuffer buf, long offset) {
        int len = (int) Math.min(buf.remaining(), Math.max(0, size - offset));
        if (len == 0) {
            return 0;
        }
        ByteBuffer b = buf.slice(buf.position(), len);
        call(() -> handles.get(conn).pread(b, offset));
        buf.position(buf.position() + len);
        return len;
    }

    @Override
    void write(int conn, ByteBuffer buf, long offset) {
        call(() -> handles.get(conn).pwrite(buf, offset));
    }

    @Override
    boolean zero(int conn, long offset, long count, boolean allocate) {
        if (!canZero) {
            return false;
        }
        call(() -> handles.get(conn).zero(count, offset, allocate ? CmdFlag.NO_HOLE : 0));
        return true;
    }

    @Override
    void readAsync(int conn, ByteBuffer buf, long offset, Op op) {
        // No lambda here: this runs once per request.
        try {
            handles.get(conn).aioPread(buf, offset, op);
        } catch (NbdException e) {
            throw failure(e);
        }
    }

    @Override
    void writeAsync(int conn, ByteBuffer buf, long offset, Op op) {
        try {
            handles.get(conn).aioPwrite(buf, offset, op);
        } catch (NbdException e) {
            throw failure(e);
        }
    }

    @Override
    boolean zeroAsync(int conn, long offset, long count, boolean allocate, Op op) {
        if (!canZero) {
            return false;
        }
        call(() -> handles.get(conn).aioZero(count, offset, op, allocate ? CmdFlag.NO_HOLE : 0));
        return true;
    }

    @Override
    int inFlight(int conn) {
        return handles.get(conn).aioInFlight();
    }

    @Override
    void extents(int conn, long offset, long count, Extents out) {
        out.clear();
        NbdHandle h = handles.get(conn);
        long end = offset + count;
        long next = offset;
        while (next < end) {
            long before = next;
            long[] at = {next};
            long from = next;
            call(() -> h.blockStatus64(end - from, from, (context, start, entries, error) -> {
                if (!context.equals(BASE_ALLOCATION) || error.get() != 0) {
                    return 0;
                }
                for (NbdExtent e : entries) {
                    long len = Math.min(e.length(), end - at[0]);
                    if (len > 0) {
                        // Holes need no reading whether allocated or not: zero is what counts.
                        out.add(at[0], len, (e.flags() & ExtentCallback.STATE_ZERO) != 0);
                        at[0] += len;
                    }
                }
                return 0;
            }));
            next = at[0];
            if (next == before) {
                throw new ToolException(1, name + ": NBD server is broken: it is not returning extent information.\n"
                        + "Try jnbd copy --no-extents as a workaround.");
            }
        }
    }

    private void call(Runnable r) {
        try {
            r.run();
        } catch (NbdException e) {
            throw failure(e);
        }
    }

    private ToolException failure(NbdException e) {
        return new ToolException(1, name + ": " + e.getMessage(), e);
    }
}
