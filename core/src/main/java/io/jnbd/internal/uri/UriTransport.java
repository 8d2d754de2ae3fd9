package io.jnbd.internal.uri;

/** The socket family an NBD URI names, chosen by its scheme. */
public enum UriTransport {
    /** {@code nbd://} and {@code nbds://}: TCP/IP to a host and port. */
    TCP,
    /** {@code nbd+unix://} and {@code nbds+unix://}: a Unix domain socket named by {@code ?socket=}. */
    UNIX,
    /** {@code nbd+vsock://} and {@code nbds+vsock://}: {@code AF_VSOCK} to a CID and port. */
    VSOCK
}
