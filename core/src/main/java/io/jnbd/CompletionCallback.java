package io.jnbd;

/**
 * Called once when an asynchronous command completes. {@code error} holds the
 * command's errno (0 on success). Returning 1 retires the command at once (it
 * will not be seen by {@code aioCommandCompleted}); 0 leaves it for the caller.
 */
@FunctionalInterface
public interface CompletionCallback {
    int call(ErrorHolder error);
}
