package io.jnbd.tools.copy;

import io.jnbd.tools.ToolException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/**
 * Standard input or output, a pipe, a character device: read or written in
 * order, size unknown. Copying with one forces synchronous mode.
 */
final class StreamEndpoint extends Endpoint {
    private final ReadableByteChannel in;
    private final WritableByteChannel out;
    /** Standard output, which reports write errors only through checkError(); else null. */
    private final PrintStream stdout;
    /** Bytes through so far: a stream goes only forward. */
    private long position;

    private StreamEndpoint(String name, ReadableByteChannel in, WritableByteChannel out, PrintStream stdout) {
        super(name);
        this.in = in;
        this.out = out;
        this.stdout = stdout;
    }

    static StreamEndpoint reading(String name, ReadableByteChannel in) {
        return new StreamEndpoint(name, in, null, null);
    }

    static StreamEndpoint writing(String name, WritableByteChannel out) {
        return new StreamEndpoint(name, null, out, null);
    }

    static StreamEndpoint standardOutput(PrintStream stdout) {
        return new StreamEndpoint("-", null, Channels.newChannel(stdout), stdout);
    }

    @Override
    String kind() {
        return "pipe_ops";
    }

    @Override
    void close() {
        // Standard input and output belong to the process: flushed, never closed.
        if (stdout != null) {
            stdout.flush();
            if (stdout.checkError()) {
                throw new ToolException(1, name + ": write error");
            }
            return;
        }
        if (name.equals("-")) {
            return;
        }
        try {
            if (in != null) {
                in.close();
            }
            if (out != null) {
                out.close();
            }
        } catch (IOException e) {
            throw new ToolException(1, name + ": close: " + LocalFiles.reason(e), e);
        }
    }

    @Override
    int read(int conn, ByteBuffer buf, long offset) {
        int n = 0;
        try {
            // Fill the buffer, so that a slow pipe does not become many small requests.
            while (buf.hasRemaining()) {
                int r = in.read(buf);
                if (r < 0) {
                    break;
                }
                n += r;
            }
        } catch (IOException e) {
            throw new ToolException(1, name + ": " + LocalFiles.reason(e), e);
        }
        position += n;
        return n;
    }

    @Override
    void write(int conn, ByteBuffer buf, long offset) {
        if (offset != position) {
            throw new IllegalStateException("stream written out of order at " + offset + ", expected " + position);
        }
        try {
            while (buf.hasRemaining()) {
                position += out.write(buf);
            }
        } catch (IOException e) {
            throw new ToolException(1, name + ": " + LocalFiles.reason(e), e);
        }
    }
}
