package io.jnbd.server.internal;

import java.nio.ByteBuffer;
import java.util.List;

/** nbdkit's null plugin: every byte reads as zero, writes vanish, all of it is a hole. */
public final class NullBackend extends SizedBackend implements SliceSource {

    public NullBackend(long size) {
        super(size);
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        Zeroes.fill(dst);
    }

    @Override
    public void slices(long offset, int length, List<ByteBuffer> out) {
        Zeroes.slices(length, out);
    }

    @Override
    public boolean isWritable() {
        return true;
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) {
        src.position(src.limit());
    }

    @Override
    public boolean canTrim() {
        return true;
    }

    @Override
    public boolean canFastZero() {
        return true;
    }

    @Override
    public void zero(long offset, long length, boolean mayTrim, boolean fua) {
    }

    @Override
    public void extents(long offset, long length, ExtentSink sink) {
        sink.extent(length, ExtentSink.HOLE | ExtentSink.ZERO);
    }
}
