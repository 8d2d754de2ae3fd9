package io.jnbd.internal.tls;

import io.jnbd.internal.protocol.Errno;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;

/** psktool's key file: lines of {@code username:hexkey}; the first line for the user wins, as in libnbd. */
final class PskFile {
    private PskFile() {
    }

    /** The key of {@code username} in {@code file}, decoded from hex. */
    static byte[] key(String file, String username) throws TlsException {
        String content = new String(X509Tls.read(Path.of(file)), StandardCharsets.UTF_8);
        String prefix = username + ":";
        for (String line : content.split("\n")) {
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            if (line.length() > prefix.length() && line.startsWith(prefix)) {
                String hex = line.substring(prefix.length());
                try {
                    return HexFormat.of().parseHex(hex);
                } catch (IllegalArgumentException e) {
                    throw new TlsException(file + ": the key of user " + username + " is not a hexadecimal string",
                            Errno.EINVAL);
                }
            }
        }
        throw new TlsException(file + ": username " + username + " was not found in PSK file", Errno.EINVAL);
    }
}
