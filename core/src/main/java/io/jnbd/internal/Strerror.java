package io.jnbd.internal;

import io.jnbd.internal.protocol.Errno;

/** Text of the errno values jnbd reports, as glibc's strerror words them. */
public final class Strerror {
    private Strerror() {
    }

    public static String of(int errno) {
        return switch (errno) {
            case Errno.EPERM -> "Operation not permitted";
            case Errno.ENOENT -> "No such file or directory";
            case Errno.ESRCH -> "No such process";
            case Errno.EINTR -> "Interrupted system call";
            case Errno.EIO -> "Input/output error";
            case Errno.EBADF -> "Bad file descriptor";
            case Errno.ENOMEM -> "Cannot allocate memory";
            case Errno.EACCES -> "Permission denied";
            case Errno.EFAULT -> "Bad address";
            case Errno.EBUSY -> "Device or resource busy";
            case Errno.EINVAL -> "Invalid argument";
            case Errno.ENOSPC -> "No space left on device";
            case Errno.EPIPE -> "Broken pipe";
            case Errno.ERANGE -> "Numerical result out of range";
            case Errno.EDEADLK -> "Resource deadlock avoided";
            case Errno.ENAMETOOLONG -> "File name too long";
            case Errno.EPROTO -> "Protocol error";
            case Errno.EOVERFLOW -> "Value too large for defined data type";
            case Errno.ENOTSOCK -> "Socket operation on non-socket";
            case Errno.ENOTSUP -> "Operation not supported";
            case Errno.EAFNOSUPPORT -> "Address family not supported by protocol";
            case Errno.ECONNRESET -> "Connection reset by peer";
            case Errno.ENOTCONN -> "Transport endpoint is not connected";
            case Errno.ESHUTDOWN -> "Cannot send after transport endpoint shutdown";
            case Errno.ETIMEDOUT -> "Connection timed out";
            case Errno.ECONNREFUSED -> "Connection refused";
            case Errno.EHOSTUNREACH -> "No route to host";
            case Errno.EKEYEXPIRED -> "Key has expired";
            default -> "Unknown error " + errno;
        };
    }
}
