package io.jnbd.internal.protocol;

/** What the server told us of the export during the handshake. */
public final class ExportInfo {
    public boolean haveExport;
    public long size;
    /** Transmission flags (16 bits). */
    public int flags;
    public String canonicalName;
    public String description;
    /** 0 when the server sent no NBD_INFO_BLOCK_SIZE. */
    public int blockMinimum;
    public int blockPreferred;
    public int blockMaximum;

    public boolean has(int transmissionFlag) {
        return (flags & transmissionFlag) != 0;
    }

    public void reset() {
        haveExport = false;
        size = 0;
        flags = 0;
        canonicalName = null;
        description = null;
        blockMinimum = blockPreferred = blockMaximum = 0;
    }
}
