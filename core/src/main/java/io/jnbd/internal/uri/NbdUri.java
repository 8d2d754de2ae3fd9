package io.jnbd.internal.uri;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.StringJoiner;

/**
 * A parsed NBD URI (the NBD project's {@code doc/uri.md}, as libnbd 1.22's
 * {@code nbd_connect_uri(3)} reads it). Immutable.
 *
 * <p>The canonical constructor checks the invariants below and throws
 * {@link IllegalArgumentException} when they do not hold, so that every
 * instance can be {@linkplain #format() formatted} and parsed back.
 *
 * @param tls             the scheme is {@code nbds}, {@code nbds+unix} or {@code nbds+vsock}:
 *                        TLS is required (libnbd calls {@code nbd_set_tls(LIBNBD_TLS_REQUIRE)})
 * @param transport       the scheme's transport
 * @param host            TCP: host name or IP address, IPv6 without brackets; {@code "localhost"}
 *                        when the URI has none. Null for the other transports
 * @param port            TCP: the decimal port, {@code "10809"} when the URI has none. Null otherwise
 * @param socketPath      UNIX: the decoded {@code socket} parameter (non-empty; it may start
 *                        with NUL for the abstract namespace). Null otherwise
 * @param vsockCid        VSOCK: the CID, an unsigned 32-bit value, 2 (the host) when the URI has
 *                        none. 0 otherwise
 * @param vsockPort       VSOCK: the port, an unsigned 32-bit value, 10809 when the URI has none.
 *                        0 otherwise
 * @param exportName      the decoded path without its leading {@code '/'}; {@code ""} when there
 *                        is no path. Never contains NUL
 * @param tlsUsername     the decoded user-info ({@code nbds://alice@host}), else the
 *                        {@code tls-username} parameter; null if neither is present
 * @param tlsCertificates the {@code tls-certificates} parameter (a local directory), or null
 * @param tlsVerifyPeer   the {@code tls-verify-peer} parameter, or null if absent
 * @param tlsPskFile      the {@code tls-psk-file} parameter (a local file), or null
 * @param tlsHostname     the {@code tls-hostname} parameter, or null
 * @param query           every query parameter, decoded, in URI order (a repeated name keeps
 *                        its first position and its last value); unmodifiable
 */
public record NbdUri(
        boolean tls,
        UriTransport transport,
        String host,
        String port,
        String socketPath,
        long vsockCid,
        long vsockPort,
        String exportName,
        String tlsUsername,
        String tlsCertificates,
        Boolean tlsVerifyPeer,
        String tlsPskFile,
        String tlsHostname,
        Map<String, String> query) {

    /** The NBD port assigned by IANA, the default for TCP and vsock. */
    public static final int DEFAULT_PORT = 10809;
    /** {@code VMADDR_CID_HOST}, the vsock CID libnbd uses when the URI has none. */
    public static final long DEFAULT_VSOCK_CID = 2;

    private static final long MAX_U32 = 0xFFFF_FFFFL;

    static final String SOCKET = "socket";
    static final String TLS_CERTIFICATES = "tls-certificates";
    static final String TLS_PSK_FILE = "tls-psk-file";
    static final String TLS_HOSTNAME = "tls-hostname";
    static final String TLS_VERIFY_PEER = "tls-verify-peer";
    static final String TLS_USERNAME = "tls-username";

    /** Parameters with a field of their own; {@link #format()} writes them from the fields. */
    private static final Set<String> KNOWN_PARAMETERS =
            Set.of(SOCKET, TLS_CERTIFICATES, TLS_PSK_FILE, TLS_HOSTNAME, TLS_VERIFY_PEER, TLS_USERNAME);

    /** The schemes libnbd 1.22's {@code nbd_is_uri(3)} recognises, each with {@code "://"}. */
    private static final String[] URI_PREFIXES = {
        "nbd://", "nbds://", "nbd+unix://", "nbds+unix://",
        "nbd+vsock://", "nbds+vsock://", "nbd+ssh://", "nbds+ssh://",
    };

    public NbdUri {
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(exportName, "exportName");
        Objects.requireNonNull(query, "query");
        switch (transport) {
            case TCP -> {
                require(host != null && !host.isEmpty(), "a TCP URI needs a host");
                require(host.indexOf(':') < 0 || UriCodec.isIpv6Address(host),
                        "host contains ':' but is not an IPv6 address: " + host);
                require(port != null && parseDecimal(port, 65535) > 0 && port.charAt(0) != '0',
                        "port must be a decimal number from 1 to 65535 without leading zeros: " + port);
                require(socketPath == null && vsockCid == 0 && vsockPort == 0,
                        "a TCP URI has no socket path or vsock address");
            }
            case UNIX -> {
                require(socketPath != null && !socketPath.isEmpty(), "a Unix URI needs a socket path");
                require(host == null && port == null && vsockCid == 0 && vsockPort == 0,
                        "a Unix URI has no host, port or vsock address");
            }
            case VSOCK -> {
                require(vsockCid >= 0 && vsockCid <= MAX_U32, "vsock CID out of range: " + vsockCid);
                require(vsockPort >= 1 && vsockPort <= MAX_U32, "vsock port out of range: " + vsockPort);
                require(host == null && port == null && socketPath == null,
                        "a vsock URI has no host, port or socket path");
            }
        }
        for (String s : new String[] {host, exportName, tlsUsername, tlsCertificates, tlsPskFile, tlsHostname}) {
            require(s == null || s.indexOf('\0') < 0, "NUL is only allowed in the socket path");
        }
        LinkedHashMap<String, String> copy = new LinkedHashMap<>();
        query.forEach((k, v) -> {
            require(k != null && !k.isEmpty() && v != null, "query names must be non-empty and values non-null");
            require(k.indexOf('\0') < 0 && (v.indexOf('\0') < 0 || UriCodec.asciiLower(k).equals(SOCKET)),
                    "NUL is only allowed in the socket path");
            copy.put(k, v);
        });
        query = Collections.unmodifiableMap(copy);
    }

    private static void require(boolean ok, String msg) {
        if (!ok) {
            throw new IllegalArgumentException(msg);
        }
    }

    /**
     * Parses an NBD URI the way libnbd 1.22's {@code nbd_connect_uri(3)} does,
     * without applying any security policy (see {@link UriPolicy#checkAllowed}).
     *
     * <ul>
     * <li>Schemes, case-insensitive: {@code nbd}, {@code nbds}, {@code nbd+unix},
     *     {@code nbds+unix}, {@code nbd+vsock}, {@code nbds+vsock}. The URI must
     *     start with {@code scheme://}. libnbd's experimental {@code nbd+ssh} and
     *     {@code nbds+ssh} are refused: jnbd has no ssh transport.</li>
     * <li>The authority is {@code [user@]host[:port]}. The user name, decoded, is
     *     the TLS user name on every transport. TCP: the host may be a name, an
     *     IPv4 address or a bracketed IPv6 address; it defaults to
     *     {@code localhost} and the port to 10809. vsock: the host is the decimal
     *     CID (default 2) and the port defaults to 10809. Unix: host and port
     *     are ignored, as in libnbd (the spec says they should not be present).</li>
     * <li>The export name is the decoded path minus its first {@code '/'}.</li>
     * <li>The query is split on {@code '&'} and {@code ';'}; a bare {@code name}
     *     means {@code name=}; {@code =value} and empty items are skipped (libnbd
     *     follows CGI.pm). Names are matched case-insensitively; for a repeated
     *     parameter the last value wins. {@code socket} is required for Unix and
     *     refused elsewhere. {@code tls-verify-peer} takes 1/true/t/yes/y/on or
     *     0/false/f/no/n/off, case-insensitively. Unknown parameters are kept
     *     in {@link #query()} and otherwise ignored, as libnbd ignores them.</li>
     * <li>A fragment is checked for syntax and ignored, as libnbd ignores it.</li>
     * <li>Stricter than libnbd: explicit port 0 (libnbd silently uses 10809), a
     *     CID with trailing junk or above 2<sup>32</sup>-1, an empty
     *     {@code socket}, percent-encoded bytes that are not UTF-8, and NUL
     *     ({@code %00}) anywhere except in {@code socket} are refused.</li>
     * </ul>
     *
     * @throws UriSyntaxError (errno {@code EINVAL}) if the URI is malformed or
     *         unusable; the message says what and where
     */
    public static NbdUri parse(String uri) throws UriSyntaxError {
        Objects.requireNonNull(uri, "uri");
        int colon = schemeEnd(uri);
        if (colon < 0) {
            throw new UriSyntaxError("NBD URI does not have a scheme: valid NBD URIs should start with"
                    + " a scheme like nbd://, nbds:// or nbd+unix://" + schemeHint(uri));
        }
        String scheme = uri.substring(0, colon);
        String canonical = UriCodec.asciiLower(scheme);
        boolean tls = canonical.startsWith("nbds");
        UriTransport transport = switch (canonical) {
            case "nbd", "nbds" -> UriTransport.TCP;
            case "nbd+unix", "nbds+unix" -> UriTransport.UNIX;
            case "nbd+vsock", "nbds+vsock" -> UriTransport.VSOCK;
            case "nbd+ssh", "nbds+ssh" -> throw new UriSyntaxError(
                    "unsupported NBD URI scheme: " + scheme + " (jnbd has no ssh transport)");
            default -> throw new UriSyntaxError("unknown NBD URI scheme: " + scheme + schemeHint(uri));
        };
        if (!uri.startsWith("//", colon + 1)) {
            throw new UriSyntaxError("URI must begin with '" + scheme + "://'");
        }

        int authStart = colon + 3;
        int authEnd = indexOfAny(uri, "/?#", authStart);
        int pathEnd = indexOfAny(uri, "?#", authEnd);
        int queryEnd = indexOfAny(uri, "#", pathEnd);
        if (queryEnd < uri.length()) {
            UriCodec.decode(uri, queryEnd + 1, uri.length(), UriCodec.QUERY_CHARS, "fragment");
        }
        Authority auth = Authority.parse(uri, authStart, authEnd);
        String path = UriCodec.decode(uri, authEnd, pathEnd, UriCodec.PATH_CHARS, "path");
        rejectNul(path, "export name");
        Parameters params = new Parameters();
        if (pathEnd < uri.length() && uri.charAt(pathEnd) == '?') {
            params.parse(uri, pathEnd + 1, queryEnd);
        }

        if ((transport == UriTransport.UNIX) != (params.socket != null)) {
            throw new UriSyntaxError(params.socket == null
                    ? "cannot parse socket parameter from NBD URI (did you mean to use \""
                            + scheme + ":///?socket=...\"?)"
                    : "socket parameter is incompatible with \"" + scheme + ":\" (did you mean to use \""
                            + (tls ? "nbds" : "nbd") + "+unix:///?socket=...\"?)");
        }
        String host = null;
        String port = null;
        long cid = 0;
        long vsockPort = 0;
        switch (transport) {
            case TCP -> {
                host = auth.host.isEmpty() ? "localhost" : auth.host;
                port = Long.toString(parsePort(auth.port, 65535));
            }
            case UNIX -> {
                if (params.socket.isEmpty()) {
                    throw new UriSyntaxError("the socket parameter of the NBD URI is empty");
                }
            }
            case VSOCK -> {
                cid = auth.host.isEmpty() ? DEFAULT_VSOCK_CID
                        : auth.ipLiteral ? -1 : parseDecimal(auth.host, MAX_U32);
                if (cid < 0) {
                    throw new UriSyntaxError("cannot parse vsock CID from NBD URI: " + auth.hostText
                            + " (it must be a decimal number up to " + MAX_U32 + ")");
                }
                vsockPort = parsePort(auth.port, MAX_U32);
            }
        }
        return new NbdUri(tls, transport, host, port, params.socket, cid, vsockPort,
                path.isEmpty() ? "" : path.substring(1),
                auth.userinfo != null ? auth.userinfo : params.username,
                params.certificates, params.verifyPeer, params.pskFile, params.hostname, params.all);
    }

    /**
     * The pieces of {@code [userinfo@]host[:port]}.
     *
     * @param userinfo  decoded, or null without '@'
     * @param host      decoded name, or IPv6 address without brackets; "" if absent
     * @param hostText  the host as written, for messages
     * @param ipLiteral the host was bracketed
     * @param port      the digits after ':', "" if absent
     */
    private record Authority(String userinfo, String host, String hostText, boolean ipLiteral, String port) {

        static Authority parse(String uri, int start, int end) throws UriSyntaxError {
            // Neither userinfo nor host may hold a raw '@', so the last one splits them.
            String userinfo = null;
            int hostStart = start;
            int at = uri.lastIndexOf('@', end - 1);
            if (at >= start) {
                userinfo = UriCodec.decode(uri, start, at, UriCodec.USERINFO_CHARS, "user name");
                rejectNul(userinfo, "user name");
                hostStart = at + 1;
            }
            boolean ipLiteral = hostStart < end && uri.charAt(hostStart) == '[';
            String host;
            int hostEnd;
            if (ipLiteral) {
                int close = uri.indexOf(']', hostStart);
                if (close < 0 || close >= end) {
                    throw new UriSyntaxError("missing ']' after the IPv6 address in the NBD URI");
                }
                host = uri.substring(hostStart + 1, close);
                if (!UriCodec.isIpv6Address(host)) {
                    throw new UriSyntaxError("invalid IPv6 address in the NBD URI: [" + host + "]");
                }
                hostEnd = close + 1;
                if (hostEnd < end && uri.charAt(hostEnd) != ':') {
                    throw new UriSyntaxError("unexpected text after the IPv6 address in the NBD URI: "
                            + uri.substring(hostEnd, end));
                }
            } else {
                hostEnd = Math.min(indexOfAny(uri, ":", hostStart), end);
                host = UriCodec.decode(uri, hostStart, hostEnd, UriCodec.HOST_CHARS, "host name");
                rejectNul(host, "host name");
                // format() would have to bracket it, and it is no IPv6 address.
                if (host.indexOf(':') >= 0) {
                    throw new UriSyntaxError("NBD URI host name must not contain ':' (use [...] for IPv6): "
                            + host);
                }
            }
            String port = hostEnd < end ? uri.substring(hostEnd + 1, end) : "";
            if (!port.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new UriSyntaxError("invalid port in the NBD URI: '" + port + "'");
            }
            return new Authority(userinfo, host, uri.substring(hostStart, hostEnd), ipLiteral, port);
        }
    }

    /** The query parameters, all of them and the ones jnbd reads. */
    private static final class Parameters {
        final Map<String, String> all = new LinkedHashMap<>();
        String socket;
        String certificates;
        String pskFile;
        String hostname;
        Boolean verifyPeer;
        String username;

        /** Reads {@code uri[start, end)}, libnbd's way (see {@link NbdUri#parse}). */
        void parse(String uri, int start, int end) throws UriSyntaxError {
            for (int item = start, itemEnd; item <= end; item = itemEnd + 1) {
                itemEnd = Math.min(indexOfAny(uri, "&;", item), end);
                int eq = Math.min(indexOfAny(uri, "=", item), itemEnd);
                if (itemEnd == item || eq == item) {
                    continue;
                }
                String name = UriCodec.decode(uri, item, eq, UriCodec.QUERY_CHARS, "query");
                String value = eq < itemEnd
                        ? UriCodec.decode(uri, eq + 1, itemEnd, UriCodec.QUERY_CHARS, "query")
                        : "";
                rejectNul(name, "query parameter name");
                String key = UriCodec.asciiLower(name);
                if (!key.equals(SOCKET)) {
                    rejectNul(value, "parameter " + name);
                }
                all.put(name, value);
                switch (key) {
                    case SOCKET -> socket = value;
                    case TLS_CERTIFICATES -> certificates = value;
                    case TLS_PSK_FILE -> pskFile = value;
                    case TLS_HOSTNAME -> hostname = value;
                    case TLS_VERIFY_PEER -> verifyPeer = parseBoolean(name, value);
                    case TLS_USERNAME -> username = value;
                    default -> { }
                }
            }
        }
    }

    /**
     * Whether {@code s} is likely an NBD URI, with the heuristic of libnbd
     * 1.22's {@code nbd_is_uri(3)}: it starts, case-insensitively, with one of
     * libnbd's schemes followed by {@code "://"}. Nothing after that is
     * checked, so {@link #parse} may still fail. Like libnbd this accepts
     * {@code nbd+ssh://} and {@code nbds+ssh://}, so that programs taking "a
     * URI or a file name" send such arguments to {@link #parse} (which explains
     * that jnbd has no ssh transport) instead of opening them as files.
     */
    public static boolean isUri(String s) {
        for (String prefix : URI_PREFIXES) {
            if (UriCodec.startsWithIgnoringAsciiCase(s, prefix)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Writes this URI as libnbd 1.22's {@code nbd_get_uri(3)} would for a
     * connection with these settings: the scheme from {@link #tls()} and the
     * transport; the user name as user-info; for TCP {@code host:port} with the
     * port always written (IPv6 hosts bracketed); for vsock {@code cid:port};
     * for Unix an empty authority; always a path ({@code "/"} plus the export
     * name); then the parameters {@code socket}, {@code tls-certificates},
     * {@code tls-psk-file}, {@code tls-hostname}, {@code tls-verify-peer} in
     * that order, then any other entries of {@link #query()}.
     *
     * <p>Differences from libnbd, all so that {@code parse(format())} gives the
     * same fields back: query values are percent-encoded (libnbd writes them
     * raw, so a socket path with {@code '&'} breaks); {@code tls-verify-peer}
     * is written whenever it is set, also as {@code true} (libnbd writes only
     * {@code false}, true being the handle's default); {@code ':'} in the user
     * name is encoded; unknown parameters are kept.
     */
    public String format() {
        StringBuilder sb = new StringBuilder(scheme()).append("://");
        if (tlsUsername != null) {
            sb.append(UriCodec.encode(tlsUsername, UriCodec.USERINFO_OUT)).append('@');
        }
        switch (transport) {
            case TCP -> {
                if (host.indexOf(':') >= 0) {
                    sb.append('[').append(host).append(']');
                } else {
                    sb.append(UriCodec.encode(host, UriCodec.HOST_OUT));
                }
                sb.append(':').append(port);
            }
            case VSOCK -> sb.append(vsockCid).append(':').append(vsockPort);
            case UNIX -> { }
        }
        sb.append('/').append(UriCodec.encode(exportName, UriCodec.PATH_OUT));

        StringJoiner params = new StringJoiner("&", "?", "").setEmptyValue("");
        if (transport == UriTransport.UNIX) {
            addParameter(params, SOCKET, socketPath);
        }
        addParameter(params, TLS_CERTIFICATES, tlsCertificates);
        addParameter(params, TLS_PSK_FILE, tlsPskFile);
        addParameter(params, TLS_HOSTNAME, tlsHostname);
        addParameter(params, TLS_VERIFY_PEER, tlsVerifyPeer == null ? null : tlsVerifyPeer.toString());
        query.forEach((name, value) -> {
            if (!KNOWN_PARAMETERS.contains(UriCodec.asciiLower(name))) {
                addParameter(params, name, value);
            }
        });
        return sb.append(params).toString();
    }

    /** The canonical (lower-case) scheme for {@link #tls()} and {@link #transport()}, such as {@code nbds+unix}. */
    public String scheme() {
        String base = tls ? "nbds" : "nbd";
        return switch (transport) {
            case TCP -> base;
            case UNIX -> base + "+unix";
            case VSOCK -> base + "+vsock";
        };
    }

    private static void addParameter(StringJoiner params, String name, String value) {
        if (value != null) {
            params.add(UriCodec.encode(name, UriCodec.QUERY_OUT) + "="
                    + UriCodec.encode(value, UriCodec.QUERY_OUT));
        }
    }

    /** Starts a builder for a plain TCP URI to {@code localhost:10809}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Collects connection settings, typically to {@link NbdUri#format()} them.
     * {@link #build()} fills {@link NbdUri#query()} with the parameters the
     * settings imply, in {@link NbdUri#format()}'s order, so that
     * {@code parse(b.build().format())} equals {@code b.build()}.
     */
    public static final class Builder {
        private boolean tls;
        private UriTransport transport = UriTransport.TCP;
        private String host = "localhost";
        private String port = Integer.toString(DEFAULT_PORT);
        private String socketPath;
        private long vsockCid;
        private long vsockPort;
        private String exportName = "";
        private String tlsUsername;
        private String tlsCertificates;
        private Boolean tlsVerifyPeer;
        private String tlsPskFile;
        private String tlsHostname;
        private final Map<String, String> extra = new LinkedHashMap<>();

        private Builder() {
        }

        public Builder tls(boolean tls) {
            this.tls = tls;
            return this;
        }

        /** TCP to {@code host} (IPv6 without brackets) and a decimal {@code port}. */
        public Builder tcp(String host, String port) {
            clearTransport();
            this.transport = UriTransport.TCP;
            this.host = host;
            this.port = port;
            return this;
        }

        public Builder unix(String socketPath) {
            clearTransport();
            this.transport = UriTransport.UNIX;
            this.socketPath = socketPath;
            return this;
        }

        /** {@code AF_VSOCK} to {@code cid} and {@code port}, both unsigned 32-bit. */
        public Builder vsock(long cid, long port) {
            clearTransport();
            this.transport = UriTransport.VSOCK;
            this.vsockCid = cid;
            this.vsockPort = port;
            return this;
        }

        private void clearTransport() {
            host = null;
            port = null;
            socketPath = null;
            vsockCid = 0;
            vsockPort = 0;
        }

        public Builder exportName(String exportName) {
            this.exportName = exportName;
            return this;
        }

        public Builder tlsUsername(String tlsUsername) {
            this.tlsUsername = tlsUsername;
            return this;
        }

        public Builder tlsCertificates(String dir) {
            this.tlsCertificates = dir;
            return this;
        }

        public Builder tlsVerifyPeer(Boolean verify) {
            this.tlsVerifyPeer = verify;
            return this;
        }

        public Builder tlsPskFile(String file) {
            this.tlsPskFile = file;
            return this;
        }

        public Builder tlsHostname(String hostname) {
            this.tlsHostname = hostname;
            return this;
        }

        /** Adds a parameter jnbd does not interpret (such as an {@code x-} one). */
        public Builder queryParameter(String name, String value) {
            require(name != null && !KNOWN_PARAMETERS.contains(UriCodec.asciiLower(name)),
                    "use the dedicated setter for " + name);
            extra.put(name, value);
            return this;
        }

        /** @throws IllegalArgumentException if the settings break an {@link NbdUri} invariant */
        public NbdUri build() {
            Map<String, String> query = new LinkedHashMap<>();
            if (transport == UriTransport.UNIX && socketPath != null) {
                query.put(SOCKET, socketPath);
            }
            putIfSet(query, TLS_CERTIFICATES, tlsCertificates);
            putIfSet(query, TLS_PSK_FILE, tlsPskFile);
            putIfSet(query, TLS_HOSTNAME, tlsHostname);
            putIfSet(query, TLS_VERIFY_PEER, tlsVerifyPeer == null ? null : tlsVerifyPeer.toString());
            query.putAll(extra);
            return new NbdUri(tls, transport, host, port, socketPath, vsockCid, vsockPort, exportName,
                    tlsUsername, tlsCertificates, tlsVerifyPeer, tlsPskFile, tlsHostname, query);
        }

        private static void putIfSet(Map<String, String> query, String name, String value) {
            if (value != null) {
                query.put(name, value);
            }
        }
    }

    /** Index of the ':' ending an RFC 3986 scheme at the start of {@code s}, or -1. */
    private static int schemeEnd(String s) {
        if (s.isEmpty() || !isAsciiLetter(s.charAt(0))) {
            return -1;
        }
        int i = 1;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (!(isAsciiLetter(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) {
                break;
            }
            i++;
        }
        return i < s.length() && s.charAt(i) == ':' ? i : -1;
    }

    private static boolean isAsciiLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    /** libnbd's hints for the two usual mistakes: a bare socket path, a bare host. */
    private static String schemeHint(String uri) {
        if (uri.startsWith("/")) {
            return ": to open a local socket use \"nbd+unix:///?socket=PATH\"";
        }
        if (UriCodec.startsWithIgnoringAsciiCase(uri, "localhost")) {
            return ": to open a local port use \"nbd://localhost\" or \"nbd://localhost:PORT\"";
        }
        return "";
    }

    private static int indexOfAny(String s, String chars, int from) {
        for (int i = from; i < s.length(); i++) {
            if (chars.indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return s.length();
    }

    /** The value of a non-empty string of ASCII digits if it is at most {@code max} (< 2^32), else -1. */
    private static long parseDecimal(String s, long max) {
        if (s.isEmpty()) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
            if (v > max) {
                return -1;
            }
        }
        return v;
    }

    private static long parsePort(String text, long max) throws UriSyntaxError {
        if (text.isEmpty()) {
            return DEFAULT_PORT;
        }
        long v = parseDecimal(text, max);
        if (v < 1) {
            throw new UriSyntaxError("invalid port in the NBD URI: " + text + " (it must be from 1 to "
                    + max + ")");
        }
        return v;
    }

    private static Boolean parseBoolean(String name, String value) throws UriSyntaxError {
        return switch (UriCodec.asciiLower(value)) {
            case "1", "true", "t", "yes", "y", "on" -> Boolean.TRUE;
            case "0", "false", "f", "no", "n", "off" -> Boolean.FALSE;
            default -> throw new UriSyntaxError("could not parse " + name + " parameter '" + value
                    + "' in the NBD URI, expecting " + name + "=true|false");
        };
    }

    private static void rejectNul(String s, String what) throws UriSyntaxError {
        if (s.indexOf('\0') >= 0) {
            throw new UriSyntaxError("the NBD URI " + what + " contains NUL (%00), which is only allowed"
                    + " in the socket parameter");
        }
    }
}
