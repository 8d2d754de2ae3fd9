package io.jnbd.tools.copy;

import io.jnbd.tools.Console;
import io.jnbd.tools.ToolException;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Opens what a local name stands for: {@code -}, a regular file or block device, or anything else as a stream. */
final class LocalFiles {
    private static final int S_IFMT = 0170000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFBLK = 0060000;

    private LocalFiles() {
    }

    static Endpoint open(String name, boolean source, Console console) {
        if (name.equals("-")) {
            if (source) {
                return StreamEndpoint.reading(name, Channels.newChannel(console.in()));
            }
            if (console.isTty()) {
                throw new ToolException(1, "refusing to write to tty");
            }
            return StreamEndpoint.standardOutput(console.out());
        }
        Path path = Path.of(name);
        try {
            int type = Files.exists(path) ? (int) Files.getAttribute(path, "unix:mode") & S_IFMT : S_IFREG;
            if (type == S_IFREG || type == S_IFBLK) {
                return source ? FileEndpoint.openSource(name, path, type == S_IFBLK)
                        : FileEndpoint.openDestination(name, path, type == S_IFBLK);
            }
            // A character device, FIFO or socket: copied as a stream, in order.
            return source ? StreamEndpoint.reading(name, FileChannel.open(path, StandardOpenOption.READ))
                    : StreamEndpoint.writing(name, FileChannel.open(path, StandardOpenOption.WRITE));
        } catch (IOException e) {
            throw new ToolException(1, name + ": " + reason(e), e);
        }
    }

    /** The strerror-like text of a failed file operation. */
    static String reason(IOException e) {
        return switch (e) {
            case NoSuchFileException x -> "No such file or directory";
            case AccessDeniedException x -> "Permission denied";
            case FileAlreadyExistsException x -> "File exists";
            case FileSystemException x when x.getReason() != null -> x.getReason();
            default -> e.getMessage() != null ? e.getMessage() : e.toString();
        };
    }
}
