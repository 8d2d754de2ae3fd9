package io.jnbd.internal.tls;

import java.net.InetAddress;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import javax.security.auth.x500.X500Principal;

/**
 * Whether a server certificate names the host, by RFC 6125's rules as GnuTLS
 * applies them: an IP address must be an iPAddress subject alternative name;
 * a host name must match a dNSName one (a {@code *} only as the whole first
 * label), or the subject's common name when the certificate has no dNSName.
 */
final class Hostnames {
    private static final int SAN_DNS = 2;
    private static final int SAN_IP = 7;

    private Hostnames() {
    }

    /** True for an IPv4 or IPv6 address literal; never looks a name up. */
    static boolean isIpLiteral(String host) {
        if (!host.contains(":") && !host.matches("[0-9.]+")) {
            return false;
        }
        try {
            InetAddress.ofLiteral(host);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    static boolean matches(X509Certificate cert, String host) {
        Collection<List<?>> sans;
        try {
            sans = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return false;
        }
        if (isIpLiteral(host)) {
            InetAddress want = InetAddress.ofLiteral(host);
            for (List<?> san : sans == null ? List.<List<?>>of() : sans) {
                if ((Integer) san.get(0) == SAN_IP && isIpLiteral((String) san.get(1))
                        && InetAddress.ofLiteral((String) san.get(1)).equals(want)) {
                    return true;
                }
            }
            return false;
        }
        List<String> names = new ArrayList<>();
        for (List<?> san : sans == null ? List.<List<?>>of() : sans) {
            if ((Integer) san.get(0) == SAN_DNS) {
                names.add((String) san.get(1));
            }
        }
        if (names.isEmpty()) {
            String cn = commonName(cert.getSubjectX500Principal());
            if (cn != null) {
                names.add(cn);
            }
        }
        String h = normalize(host);
        for (String name : names) {
            if (nameMatches(normalize(name), h)) {
                return true;
            }
        }
        return false;
    }

    /** The names a certificate is for, for error messages. */
    static String describe(X509Certificate cert) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            for (List<?> san : sans == null ? List.<List<?>>of() : sans) {
                if ((Integer) san.get(0) == SAN_DNS || (Integer) san.get(0) == SAN_IP) {
                    names.add(String.valueOf(san.get(1)));
                }
            }
        } catch (CertificateParsingException ignored) {
            // Then only the subject is shown.
        }
        return names.isEmpty() ? "subject " + cert.getSubjectX500Principal().getName() : String.join(", ", names);
    }

    private static String normalize(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    private static boolean nameMatches(String pattern, String host) {
        if (!pattern.startsWith("*.")) {
            return pattern.equals(host);
        }
        String suffix = pattern.substring(1);
        int firstDot = host.indexOf('.');
        // "*.example.com" covers one whole label: not "example.com", not "a.b.example.com", never "*.com".
        return suffix.indexOf('.', 1) > 0 && firstDot > 0 && host.substring(firstDot).equals(suffix);
    }

    /** The most specific CN of a name (RFC 2253 lists it first), unescaped; null if there is none. */
    private static String commonName(X500Principal subject) {
        String dn = subject.getName(X500Principal.RFC2253);
        int i = 0;
        while (i < dn.length()) {
            StringBuilder rdn = new StringBuilder();
            while (i < dn.length() && dn.charAt(i) != ',' && dn.charAt(i) != '+') {
                if (dn.charAt(i) == '\\' && i + 1 < dn.length()) {
                    rdn.append(dn.charAt(i));
                    i++;
                }
                rdn.append(dn.charAt(i));
                i++;
            }
            i++;
            String attribute = rdn.toString();
            if (attribute.regionMatches(true, 0, "CN=", 0, 3)) {
                return attribute.substring(3).replaceAll("\\\\(.)", "$1");
            }
        }
        return null;
    }
}
