package io.jnbd.internal.tls;

import io.jnbd.internal.protocol.Errno;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Reads the PEM files of libnbd's certificates directory: certificates, CRLs
 * and unencrypted private keys in the three forms GnuTLS's certtool writes
 * (PKCS#1 {@code RSA PRIVATE KEY} and SEC1 {@code EC PRIVATE KEY} by default,
 * PKCS#8 {@code PRIVATE KEY} with {@code --pkcs8}). Text outside the
 * {@code -----BEGIN}/{@code -----END} lines is ignored, as certtool puts a
 * human-readable dump before the block.
 *
 * <p>The JDK reads PKCS#8 only, so PKCS#1 and SEC1 keys are wrapped into a
 * PKCS#8 structure here: a few lines of DER rather than a dependency.
 */
final class Pem {
    /** A PEM block: its label ({@code CERTIFICATE}, {@code EC PRIVATE KEY}...) and decoded bytes. */
    record Block(String label, byte[] der) {
    }

    private static final String BEGIN = "-----BEGIN ";
    private static final String END = "-----END ";
    private static final String DASHES = "-----";

    /** DER of OID 1.2.840.113549.1.1.1, rsaEncryption, with its NULL parameters. */
    private static final byte[] RSA_ALGORITHM = hex("300d06092a864886f70d0101010500");
    /** DER of OID 1.2.840.10045.2.1, id-ecPublicKey. */
    private static final byte[] EC_PUBLIC_KEY_OID = hex("06072a8648ce3d0201");

    private Pem() {
    }

    /** The blocks of a PEM file, in order. {@code file} names the file in error messages. */
    static List<Block> blocks(String file, byte[] content) throws TlsException {
        String text = new String(content, StandardCharsets.US_ASCII);
        List<Block> blocks = new ArrayList<>();
        int at = 0;
        while (true) {
            int begin = text.indexOf(BEGIN, at);
            if (begin < 0) {
                return blocks;
            }
            int labelEnd = text.indexOf(DASHES, begin + BEGIN.length());
            int lineEnd = text.indexOf('\n', begin);
            if (labelEnd < 0 || (lineEnd >= 0 && labelEnd > lineEnd)) {
                throw malformed(file, "a BEGIN line without its closing dashes");
            }
            String label = text.substring(begin + BEGIN.length(), labelEnd);
            String endLine = END + label + DASHES;
            int end = text.indexOf(endLine, labelEnd);
            if (end < 0) {
                throw malformed(file, "no \"" + endLine + "\" after \"" + BEGIN + label + DASHES + "\"");
            }
            String body = text.substring(labelEnd + DASHES.length(), end);
            if (body.contains(":")) {
                // RFC 1421 headers (Proc-Type, DEK-Info) only appear in password-protected legacy keys.
                throw new TlsException(file + ": encrypted private keys are not supported; write the key "
                        + "unencrypted (certtool --generate-privkey without a password)", Errno.EINVAL);
            }
            try {
                // Strict base64 once line breaks are gone: the MIME decoder would skip stray characters.
                blocks.add(new Block(label, Base64.getDecoder().decode(body.replaceAll("\\s", ""))));
            } catch (IllegalArgumentException e) {
                throw malformed(file, "bad base64 in the " + label + " block");
            }
            at = end + endLine.length();
        }
    }

    /** Every {@code CERTIFICATE} block of the file; at least one. */
    static List<X509Certificate> certificates(String file, byte[] content) throws TlsException {
        List<X509Certificate> certs = new ArrayList<>();
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (Block b : blocks(file, content)) {
                if (b.label().equals("CERTIFICATE") || b.label().equals("X509 CERTIFICATE")) {
                    certs.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(b.der())));
                }
            }
        } catch (CertificateException e) {
            throw malformed(file, "unreadable certificate: " + e.getMessage());
        }
        if (certs.isEmpty()) {
            throw malformed(file, "no \"" + BEGIN + "CERTIFICATE" + DASHES + "\" block");
        }
        return certs;
    }

    /** Every {@code X509 CRL} block of the file; at least one. */
    static List<X509CRL> crls(String file, byte[] content) throws TlsException {
        List<X509CRL> crls = new ArrayList<>();
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            for (Block b : blocks(file, content)) {
                if (b.label().equals("X509 CRL")) {
                    crls.add((X509CRL) cf.generateCRL(new ByteArrayInputStream(b.der())));
                }
            }
        } catch (GeneralSecurityException e) {
            throw malformed(file, "unreadable CRL: " + e.getMessage());
        }
        if (crls.isEmpty()) {
            throw malformed(file, "no \"" + BEGIN + "X509 CRL" + DASHES + "\" block");
        }
        return crls;
    }

    /** The file's private key: the first PKCS#8, PKCS#1 RSA or SEC1 EC key block. */
    static PrivateKey privateKey(String file, byte[] content) throws TlsException {
        for (Block b : blocks(file, content)) {
            switch (b.label()) {
                case "PRIVATE KEY" -> {
                    return pkcs8(file, b.der(), "RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS");
                }
                case "RSA PRIVATE KEY" -> {
                    return pkcs8(file, wrapPkcs8(RSA_ALGORITHM, b.der()), "RSA");
                }
                case "EC PRIVATE KEY" -> {
                    byte[] curve = Der.ecCurveOid(b.der());
                    if (curve == null) {
                        throw malformed(file, "the EC private key does not name its curve");
                    }
                    return pkcs8(file, wrapPkcs8(Der.sequence(EC_PUBLIC_KEY_OID, curve), b.der()), "EC");
                }
                case "ENCRYPTED PRIVATE KEY" -> throw new TlsException(file + ": encrypted private keys are not "
                        + "supported; write the key unencrypted (certtool --pkcs8 --null-password)", Errno.EINVAL);
                default -> {
                    // Parameters blocks (EC PARAMETERS) and the like come before the key; skip them.
                }
            }
        }
        throw malformed(file, "no private key block (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)");
    }

    private static PrivateKey pkcs8(String file, byte[] der, String... algorithms) throws TlsException {
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String algorithm : algorithms) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException notThisAlgorithm) {
                // The spec names its algorithm only inside the DER; the first factory that accepts it wins.
            }
        }
        throw malformed(file, "unsupported or corrupt private key (tried " + String.join(", ", algorithms) + ")");
    }

    /** PrivateKeyInfo ::= SEQUENCE { version 0, AlgorithmIdentifier, OCTET STRING key }. */
    private static byte[] wrapPkcs8(byte[] algorithm, byte[] key) {
        return Der.sequence(new byte[] {2, 1, 0}, algorithm, Der.tlv(0x04, key));
    }

    private static TlsException malformed(String file, String what) {
        return new TlsException(file + ": " + what, Errno.EINVAL);
    }

    private static byte[] hex(String s) {
        return java.util.HexFormat.of().parseHex(s);
    }

    /** Just enough DER to wrap keys and find a SEC1 key's curve. */
    static final class Der {
        private Der() {
        }

        static byte[] sequence(byte[]... parts) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            for (byte[] p : parts) {
                body.writeBytes(p);
            }
            return tlv(0x30, body.toByteArray());
        }

        static byte[] tlv(int tag, byte[] value) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(tag);
            int n = value.length;
            if (n < 0x80) {
                out.write(n);
            } else {
                int bytes = (Integer.SIZE - Integer.numberOfLeadingZeros(n) + 7) / 8;
                out.write(0x80 | bytes);
                for (int i = bytes - 1; i >= 0; i--) {
                    out.write(n >>> (8 * i));
                }
            }
            out.writeBytes(value);
            return out.toByteArray();
        }

        /**
         * The curve OID (as a whole TLV) of ECPrivateKey ::= SEQUENCE { version,
         * OCTET STRING, [0] parameters OPTIONAL, [1] publicKey OPTIONAL }, or
         * null if the key has no parameters or is not such a structure.
         */
        static byte[] ecCurveOid(byte[] der) {
            int[] seq = header(der, 0);
            if (seq == null || der[0] != 0x30) {
                return null;
            }
            int at = seq[0];
            int end = Math.min(der.length, seq[0] + seq[1]);
            while (at < end) {
                int[] h = header(der, at);
                if (h == null || h[0] + h[1] > end) {
                    return null;
                }
                if ((der[at] & 0xff) == 0xa0) {
                    int[] inner = header(der, h[0]);
                    if (inner == null || der[h[0]] != 0x06 || inner[0] + inner[1] > h[0] + h[1]) {
                        return null;
                    }
                    return java.util.Arrays.copyOfRange(der, h[0], inner[0] + inner[1]);
                }
                at = h[0] + h[1];
            }
            return null;
        }

        /** For the TLV at {@code at}: {offset of its value, length of its value}, or null if malformed. */
        private static int[] header(byte[] der, int at) {
            if (at + 2 > der.length) {
                return null;
            }
            int first = der[at + 1] & 0xff;
            if (first < 0x80) {
                return new int[] {at + 2, first};
            }
            int bytes = first & 0x7f;
            if (bytes == 0 || bytes > 3 || at + 2 + bytes > der.length) {
                return null;
            }
            int len = 0;
            for (int i = 0; i < bytes; i++) {
                len = (len << 8) | (der[at + 2 + i] & 0xff);
            }
            return new int[] {at + 2 + bytes, len};
        }
    }
}
