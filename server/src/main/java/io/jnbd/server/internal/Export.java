package io.jnbd.server.internal;

import io.jnbd.server.Backend;

/** One named export: its backend, an optional description for NBD_INFO_DESCRIPTION, and whether it is read-only. */
public record Export(String name, Backend backend, String description, boolean readOnly) {
}
