package io.jnbd.internal.engine;

import io.jnbd.internal.protocol.ExportInfo;

import java.util.ArrayList;
import java.util.List;

/** What the handshake established; read by the handle's getters. */
public final class Negotiated {
    /** "oldstyle", "newstyle" or "newstyle-fixed"; null before the greeting. */
    public volatile String protocol;
    /** Handshake flags both sides agreed on. */
    public volatile int handshakeFlags;
    public volatile boolean structuredReplies;
    public volatile boolean extendedHeaders;
    /** The connection switched to TLS after NBD_OPT_STARTTLS. */
    public volatile boolean tlsNegotiated;
    /** Export details from the last successful NBD_OPT_INFO/GO or EXPORT_NAME. */
    public final ExportInfo export = new ExportInfo();
    public volatile boolean exportKnown;
    /** Meta contexts the server agreed to, in reply order; ids for block status replies. */
    public final List<MetaContext> metaContexts = new ArrayList<>();
    /** True once NBD_OPT_SET_META_CONTEXT has been answered for the current export. */
    public volatile boolean metaContextsValid;

    public record MetaContext(int id, String name) {
    }

    public synchronized String metaContextName(int id) {
        for (MetaContext m : metaContexts) {
            if (m.id() == id) {
                return m.name();
            }
        }
        return null;
    }

    public boolean hasMetaContext(String name) {
        return metaContextId(name) >= 0;
    }

    synchronized void setMetaContexts(List<MetaContext> list, boolean valid) {
        metaContexts.clear();
        metaContexts.addAll(list);
        metaContextsValid = valid;
    }

    /** The id the server gave meta context {@code name}, or -1. */
    public synchronized long metaContextId(String name) {
        for (MetaContext m : metaContexts) {
            if (m.name().equals(name)) {
                return Integer.toUnsignedLong(m.id());
            }
        }
        return -1;
    }

    /** The export changed: what was negotiated for the old one no longer holds. */
    public synchronized void forgetExport() {
        export.reset();
        exportKnown = false;
        metaContexts.clear();
        metaContextsValid = false;
    }
}
