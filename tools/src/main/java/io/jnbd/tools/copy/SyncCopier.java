package io.jnbd.tools.copy;

import io.jnbd.tools.ToolException;
import java.nio.ByteBuffer;

/**
 * Copies in order, one request at a time, on one connection: what streams need
 * and what {@code --synchronous} asks for. With a known source size it skips
 * reading zero extents and zeroes them on the destination instead.
 */
final class SyncCopier {
    private final Endpoint src;
    private final Endpoint dst;
    private final Plan plan;
    private final Progress progress;

    SyncCopier(Endpoint src, Endpoint dst, Plan plan, Progress progress) {
        this.src = src;
        this.dst = dst;
        this.plan = plan;
        this.progress = progress;
    }

    void run() {
        ByteBuffer buf = ByteBuffer.allocateDirect(plan.requestSize());
        if (src.size < 0) {
            copyStream(buf);
            return;
        }
        ByteBuffer zeroes = ByteBuffer.allocateDirect(plan.requestSize()).asReadOnlyBuffer();
        Extents extents = new Extents();
        long offset = 0;
        while (offset < src.size) {
            long count = Math.min(plan.requestSize(), src.size - offset);
            if (plan.extents()) {
                src.extents(0, offset, count, extents);
            } else {
                extents.clear();
                extents.add(offset, count, false);
            }
            for (int i = 0; i < extents.size(); i++) {
                int len = (int) extents.length(i);
                if (extents.isZero(i)) {
                    zero(zeroes, offset, len);
                } else {
                    buf.clear().limit(len);
                    if (src.read(0, buf, offset) < len) {
                        throw new ToolException(1, src.name + ": unexpected end of file");
                    }
                    dst.write(0, buf.flip(), offset);
                }
                offset += len;
                progress.add(len);
            }
        }
    }

    /** A source of unknown size: read until its end. */
    private void copyStream(ByteBuffer buf) {
        long offset = 0;
        while (true) {
            buf.clear();
            int n = src.read(0, buf, offset);
            if (n == 0) {
                return;
            }
            dst.write(0, buf.flip(), offset);
            offset += n;
            progress.add(n);
        }
    }

    private void zero(ByteBuffer zeroes, long offset, int len) {
        if (plan.targetIsZero()) {
            return;
        }
        // A hole if allowed, else allocated zeroes, else zeroes written the hard way.
        if (!plan.allocated() && dst.zero(0, offset, len, false) || dst.zero(0, offset, len, true)) {
            return;
        }
        dst.write(0, zeroes.duplicate().limit(len), offset);
    }
}
