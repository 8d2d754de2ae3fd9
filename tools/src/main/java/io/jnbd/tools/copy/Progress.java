package io.jnbd.tools.copy;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code --progress}: a bar redrawn on standard error, or, with
 * {@code --progress=FD}, lines {@code N/100} written to descriptor FD for
 * other programs (nbdcopy's formats). It shows bytes actually copied (reads done and zeroed
 * ranges), redrawn by a ticker thread every {@value #TICK_MILLIS} ms, so that
 * the copying threads only add to a counter. 0 is shown at the start and 100
 * at the end, always.
 */
final class Progress implements AutoCloseable {
    private static final long TICK_MILLIS = 100;
    private static final String[] SPINNER = {"▝", "▐", "▗", "▃", "▖", "▍", "▘", "▀"};
    private static final int WIDTH = 40;


    private final PrintStream bar;
    private final int fd;
    private final LongAdder done = new LongAdder();
    private long total;
    private int spin;
    /** The last percentage written to fd, so each is written once. */
    private int lastPercent = -1;
    private Thread ticker;
    private volatile boolean stopped;

    /** {@code bar} for the terminal form, or {@code fd} >= 0 for the machine-readable one. */
    private Progress(PrintStream bar, int fd) {
        this.bar = bar;
        this.fd = fd;
    }

    /** Shows nothing: without --progress. */
    static Progress none() {
        return new Progress(null, -1);
    }

    static Progress bar(PrintStream err) {
        return new Progress(err, -1);
    }

    static Progress toDescriptor(int fd) {
        return new Progress(null, fd);
    }

    private boolean enabled() {
        return bar != null || fd >= 0;
    }

    /** Shows 0% and starts redrawing; {@code size} is -1 for a stream. */
    void start(long size) {
        if (!enabled()) {
            return;
        }
        total = size;
        show(0, false);
        if (size <= 0) {
            return; // nothing to measure against until the end
        }
        ticker = Thread.ofPlatform().daemon().name("jnbd-copy-progress").start(() -> {
            while (!stopped) {
                try {
                    Thread.sleep(TICK_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
                if (!stopped) {
                    show(done.sum(), false);
                }
            }
        });
    }

    /** Counts {@code bytes} more as copied. */
    void add(long bytes) {
        done.add(bytes);
    }

    /** Shows 100% and stops redrawing: the copy succeeded. */
    void finish() {
        if (!enabled()) {
            return;
        }
        close();
        show(0, true);
    }

    /** Stops redrawing, leaving the bar as it is (the copy failed). */
    @Override
    public void close() {
        stopped = true;
        if (ticker != null) {
            ticker.interrupt();
            try {
                ticker.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ticker = null;
        }
    }

    /** Draws {@code pos} of the total, or 100% if {@code end}. */
    private synchronized void show(long pos, boolean end) {
        double frac = end ? 1 : total <= 0 ? 0 : Math.min(1, (double) pos / total);
        int percent = (int) (100 * frac);
        if (fd >= 0) {
            if (percent != lastPercent) {
                lastPercent = percent;
                // A closed or bad descriptor is the caller's business, as with nbdcopy: ignored.
                Native.write(fd, (percent + "/100\n").getBytes(StandardCharsets.US_ASCII));
            }
            return;
        }
        StringBuilder line = new StringBuilder(64);
        if (frac == 1) {
            line.append("█ 100% [").append("*".repeat(WIDTH)).append("]\n");
        } else {
            int stars = (int) Math.ceil(WIDTH * frac);
            line.append(SPINNER[spin]).append(' ').append(String.format("%3d", percent)).append("% [")
                    .append("*".repeat(stars)).append("-".repeat(WIDTH - stars)).append("]\r");
            spin = (spin + 1) % SPINNER.length;
        }
        bar.print(line);
        bar.flush();
    }
}
