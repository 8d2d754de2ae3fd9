package io.jnbd.server.internal;

import io.jnbd.internal.posix.Fd;
import io.jnbd.internal.transport.FdTransport;
import io.jnbd.internal.transport.Transport;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Reads stdin and writes stdout (nbdkit's {@code -s}): one socket twice, or two pipes. */
final class StdioTransport implements Transport {
    private final FdTransport in;
    private final FdTransport out;

    StdioTransport(Fd stdin, Fd stdout) {
        this.in = new FdTransport(stdin);
        this.out = new FdTransport(stdout);
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return in.read(dst);
    }

    @Override
    public void write(ByteBuffer... srcs) throws IOException {
        out.write(srcs);
    }

    @Override
    public void shutdownOutput() throws IOException {
        out.shutdownOutput();
    }

    @Override
    public void close() {
        in.close();
        out.close();
    }
}
