package io.jnbd.internal.engine;

import java.util.List;

/** The handle's settings that steer the handshake, captured when an option exchange starts. */
public record HandshakeConfig(
        String exportName,
        int handshakeFlags,
        boolean requestStructuredReplies,
        boolean requestExtendedHeaders,
        boolean requestMetaContext,
        List<String> metaContexts,
        boolean fullInfo,
        boolean requestBlockSize,
        boolean optMode) {
}
