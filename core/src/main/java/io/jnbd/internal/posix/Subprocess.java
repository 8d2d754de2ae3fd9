package io.jnbd.internal.posix;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A child process started by {@link Posix#spawn} or {@link Posix#spawnSocketActivated}.
 *
 * <p>The JDK's process reaper does not know such children, so this class reaps
 * them itself with waitpid(WNOHANG). Thread-safe.
 */
public final class Subprocess {
    public static final int SIGKILL = 9;
    public static final int SIGTERM = 15;

    private static final long TERM_WAIT_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final long MAX_POLL_MILLIS = 20;

    private final int pid;
    /** Guarded by this. */
    private boolean reaped;
    /** Decoded exit status once reaped; guarded by this. */
    private int status = -1;

    Subprocess(int pid) {
        this.pid = pid;
    }

    /** The child's process id. */
    public long pid() {
        return pid;
    }

    /** Whether the child is still running; reaps it if it has exited. */
    public boolean isAlive() {
        return !reap();
    }

    /**
     * Waits up to {@code timeout} for the child to exit.
     *
     * @return true if it has exited (and is reaped)
     */
    public boolean waitFor(Duration timeout) throws InterruptedException {
        return await(timeout.isNegative() ? 0 : timeout.toNanos(), true);
    }

    /**
     * The exit code, or 128 + the signal number if a signal ended the child
     * (as a shell reports it); -1 while it runs, or if someone else reaped it.
     */
    public int exitStatus() {
        synchronized (this) {
            reap();
            return status;
        }
    }

    /** Sends {@code signal} with kill(2); does nothing once the child is reaped. */
    public void kill(int signal) throws IOException {
        synchronized (this) {
            // A reaped pid may already belong to another process.
            if (reaped) {
                return;
            }
            int r = Libc.kill(pid, signal);
            if (r < 0) {
                throw new PosixException("kill " + pid, -r);
            }
        }
    }

    /**
     * Ends the child: waits {@code grace} for it to exit by itself, then sends
     * SIGTERM and waits 2 s, then SIGKILL and waits until it is gone. Always
     * reaps; never throws. An interrupt does not cut this short but stays set.
     */
    public void terminate(Duration grace) {
        try {
            if (await(grace.isNegative() ? 0 : grace.toNanos(), false)) {
                return;
            }
            killQuietly(SIGTERM);
            if (await(TERM_WAIT_NANOS, false)) {
                return;
            }
            killQuietly(SIGKILL);
            await(Long.MAX_VALUE, false);
        } catch (InterruptedException e) {
            throw new AssertionError("uninterruptible wait was interrupted", e);
        }
    }

    private void killQuietly(int signal) {
        try {
            kill(signal);
        } catch (IOException e) {
            // Only ESRCH is possible for our own unreaped child: it is exiting already.
        }
    }

    /** Polls with sleeps growing from 1 ms to 20 ms: children of NBD tools usually exit quickly. */
    private boolean await(long timeoutNanos, boolean interruptible) throws InterruptedException {
        long start = System.nanoTime();
        long sleepMillis = 1;
        boolean interrupted = false;
        try {
            while (true) {
                if (reap()) {
                    return true;
                }
                long left = timeoutNanos - (System.nanoTime() - start);
                if (left <= 0) {
                    return false;
                }
                try {
                    Thread.sleep(Math.min(sleepMillis, TimeUnit.NANOSECONDS.toMillis(left) + 1));
                } catch (InterruptedException e) {
                    if (interruptible) {
                        throw e;
                    }
                    interrupted = true;
                }
                sleepMillis = Math.min(sleepMillis * 2, MAX_POLL_MILLIS);
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Returns true once the child is reaped. */
    private boolean reap() {
        synchronized (this) {
            if (reaped) {
                return true;
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment raw = arena.allocate(JAVA_INT);
                int r;
                do {
                    r = Libc.waitpid(pid, raw, Libc.WNOHANG);
                } while (r == -Libc.EINTR);
                if (r == 0) {
                    return false;
                }
                reaped = true;
                // Anything but our pid is ECHILD: someone else reaped it, and the status is lost.
                if (r == pid) {
                    status = decode(raw.get(JAVA_INT, 0));
                }
                return true;
            }
        }
    }

    private static int decode(int raw) {
        int signal = raw & 0x7f;
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal;
    }
}
