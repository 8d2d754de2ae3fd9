package io.jnbd.internal.transport;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/** A transport on a JDK socket channel (TCP or Unix domain), in blocking mode. */
public final class ChannelTransport implements Transport {
    private final SocketChannel channel;

    public ChannelTransport(SocketChannel channel) throws IOException {
        this.channel = channel;
        channel.configureBlocking(true);
        if (channel.supportedOptions().contains(StandardSocketOptions.TCP_NODELAY)) {
            // Requests are written whole; Nagle would only delay small ones.
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return channel.read(dst);
    }

    @Override
    public void write(ByteBuffer... srcs) throws IOException {
        if (srcs.length == 1) {
            // Most writes are one request header: write(2), not the gathering path's writev and iovec set-up.
            ByteBuffer src = srcs[0];
            while (src.hasRemaining()) {
                channel.write(src);
            }
            return;
        }
        long remaining = 0;
        for (ByteBuffer b : srcs) {
            remaining += b.remaining();
        }
        while (remaining > 0) {
            remaining -= channel.write(srcs);
        }
    }

    @Override
    public void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Closing a socket only fails if it is already broken; nothing is left to release.
        }
    }
}
