package io.jnbd.internal.tls;

import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The PEM reader on the key forms certtool writes, and on what it must refuse. (Real files: TlsNbdkitTest.) */
class PemTest {
    private static final int EINVAL = 22;

    private static byte[] pem(String label, byte[] der) {
        // certtool writes a readable dump of the key before the block.
        return ("Public Key Info:\n\tPublic Key Algorithm: whatever\n\n-----BEGIN " + label + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der) + "\n-----END " + label + "-----\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static void refused(String content, String what) {
        TlsException e = assertThrows(TlsException.class,
                () -> Pem.privateKey("key.pem", content.getBytes(StandardCharsets.US_ASCII)));
        assertTrue(e.getMessage().startsWith("key.pem: ") && e.getMessage().contains(what), e.getMessage());
        assertEquals(EINVAL, e.errno());
    }

    @Test
    void pkcs8KeysOfEveryAlgorithm() throws Exception {
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519"}) {
            PrivateKey key = generator(algorithm).generateKeyPair().getPrivate();
            PrivateKey read = Pem.privateKey("key.pem", pem("PRIVATE KEY", key.getEncoded()));
            assertArrayEquals(key.getEncoded(), read.getEncoded(), algorithm);
        }
    }

    @Test
    void sec1EcKeyNamesItsCurve() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        ECPrivateKey key = (ECPrivateKey) g.generateKeyPair().getPrivate();
        byte[] s = unsigned(key.getS(), 32);
        byte[] prime256v1 = HexFormat.of().parseHex("06082a8648ce3d030107");
        byte[] sec1 = Pem.Der.sequence(new byte[] {2, 1, 1}, Pem.Der.tlv(0x04, s), Pem.Der.tlv(0xa0, prime256v1));
        ECPrivateKey read = (ECPrivateKey) Pem.privateKey("key.pem", pem("EC PRIVATE KEY", sec1));
        assertEquals(key.getS(), read.getS());
        assertEquals(key.getParams().getCurve(), read.getParams().getCurve());

        byte[] noCurve = Pem.Der.sequence(new byte[] {2, 1, 1}, Pem.Der.tlv(0x04, s));
        refused(new String(pem("EC PRIVATE KEY", noCurve), StandardCharsets.US_ASCII), "does not name its curve");
    }

    @Test
    void pkcs1RsaKey() throws Exception {
        PrivateKey key = generator("RSA").generateKeyPair().getPrivate();
        // PKCS#8 for RSA ends with the PKCS#1 structure, in an OCTET STRING after the 26-byte prefix.
        byte[] p8 = key.getEncoded();
        byte[] pkcs1 = Arrays.copyOfRange(p8, 26, p8.length);
        assertEquals(0x30, pkcs1[0] & 0xff);
        PrivateKey read = Pem.privateKey("key.pem", pem("RSA PRIVATE KEY", pkcs1));
        assertArrayEquals(p8, read.getEncoded());
    }

    @Test
    void encryptedOrBrokenKeysAreRefused() {
        refused("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
                "encrypted private keys are not supported");
        refused("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nMIIB\n"
                + "-----END RSA PRIVATE KEY-----\n", "encrypted private keys are not supported");
        refused("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n", "no \"-----END RSA PRIVATE KEY-----\"");
        refused("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", "bad base64");
        refused("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", "unsupported or corrupt private key");
        refused("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "no private key block");
        refused("", "no private key block");
    }

    @Test
    void certificateFilesNeedACertificate() {
        TlsException e = assertThrows(TlsException.class,
                () -> Pem.certificates("ca-cert.pem", "nothing here\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("ca-cert.pem: no \"-----BEGIN CERTIFICATE-----\" block", e.getMessage());
    }

    /** RSA at 2048 bits: the JDK's default of 3072 takes long to generate. */
    private static KeyPairGenerator generator(String algorithm) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
        if (algorithm.equals("RSA")) {
            g.initialize(2048);
        }
        return g;
    }

    private static byte[] unsigned(BigInteger n, int length) {
        byte[] b = n.toByteArray();
        byte[] out = new byte[length];
        int copy = Math.min(b.length, length);
        System.arraycopy(b, b.length - copy, out, length - copy, copy);
        return out;
    }
}
