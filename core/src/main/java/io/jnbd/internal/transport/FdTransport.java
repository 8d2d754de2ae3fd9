package io.jnbd.internal.transport;

import io.jnbd.internal.posix.Fd;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Objects;

/** A {@link Transport} over a socket descriptor the JDK cannot wrap, such as AF_VSOCK or a socketpair end. */
public final class FdTransport implements Transport {
    private final Fd fd;

    /** Takes ownership of {@code fd}: closing the transport closes it. */
    public FdTransport(Fd fd) {
        this.fd = Objects.requireNonNull(fd, "fd");
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return fd.read(dst);
    }

    @Override
    public void write(ByteBuffer... srcs) throws IOException {
        int first = 0;
        while (true) {
            while (first < srcs.length && !srcs[first].hasRemaining()) {
                first++;
            }
            if (first == srcs.length) {
                return;
            }
            fd.write(srcs, first, srcs.length - first);
        }
    }

    @Override
    public void shutdownOutput() throws IOException {
        fd.shutdown(Fd.SHUT_WR);
    }

    @Override
    public void close() {
        fd.close();
    }
}
