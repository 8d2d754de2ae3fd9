package io.jnbd.tools;

/**
 * A failure a tool reports as one line on stderr and an exit status, without
 * a stack trace (unless the tool runs verbose).
 */
public final class ToolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;

    public ToolException(int status, String message) {
        super(message);
        this.status = status;
    }

    public ToolException(int status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** The process exit status. */
    public int status() {
        return status;
    }
}
