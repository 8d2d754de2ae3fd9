package io.jnbd.internal.uri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NbdUriErrorTest {

    @ParameterizedTest
    @CsvSource(delimiterString = " => ", quoteCharacter = '`', textBlock = """
            `` => NBD URI does not have a scheme: valid NBD URIs should start with a scheme like nbd://, nbds:// or nbd+unix://
            example.com/disk => NBD URI does not have a scheme: valid NBD URIs should start with a scheme like nbd://, nbds:// or nbd+unix://
            /tmp/sock => NBD URI does not have a scheme: valid NBD URIs should start with a scheme like nbd://, nbds:// or nbd+unix://: to open a local socket use "nbd+unix:///?socket=PATH"
            localhost => NBD URI does not have a scheme: valid NBD URIs should start with a scheme like nbd://, nbds:// or nbd+unix://: to open a local port use "nbd://localhost" or "nbd://localhost:PORT"
            localhost:10809 => unknown NBD URI scheme: localhost: to open a local port use "nbd://localhost" or "nbd://localhost:PORT"
            http://example.com/ => unknown NBD URI scheme: http
            nbd+tcp://h/ => unknown NBD URI scheme: nbd+tcp
            1nbd://h/ => NBD URI does not have a scheme: valid NBD URIs should start with a scheme like nbd://, nbds:// or nbd+unix://
            nbd+ssh://server/ => unsupported NBD URI scheme: nbd+ssh (jnbd has no ssh transport)
            NBDS+SSH://server/ => unsupported NBD URI scheme: NBDS+SSH (jnbd has no ssh transport)
            nbd:localhost => URI must begin with 'nbd://'
            nbd:/disk => URI must begin with 'nbd://'
            NBD+Unix:/?socket=x => URI must begin with 'NBD+Unix://'
            nbd+unix:/// => cannot parse socket parameter from NBD URI (did you mean to use "nbd+unix:///?socket=..."?)
            nbds+unix:///x?sock=/s => cannot parse socket parameter from NBD URI (did you mean to use "nbds+unix:///?socket=..."?)
            nbd+unix:///?socket= => the socket parameter of the NBD URI is empty
            nbd+unix:///?socket => the socket parameter of the NBD URI is empty
            nbd://h/?socket=/s => socket parameter is incompatible with "nbd:" (did you mean to use "nbd+unix:///?socket=..."?)
            nbds://h/?socket=/s => socket parameter is incompatible with "nbds:" (did you mean to use "nbds+unix:///?socket=..."?)
            nbd+vsock://2/?SOCKET=/s => socket parameter is incompatible with "nbd+vsock:" (did you mean to use "nbd+unix:///?socket=..."?)
            nbd+vsock://host/ => cannot parse vsock CID from NBD URI: host (it must be a decimal number up to 4294967295)
            nbd+vsock://2x:1/ => cannot parse vsock CID from NBD URI: 2x (it must be a decimal number up to 4294967295)
            nbd+vsock://-1/ => cannot parse vsock CID from NBD URI: -1 (it must be a decimal number up to 4294967295)
            nbd+vsock://4294967296/ => cannot parse vsock CID from NBD URI: 4294967296 (it must be a decimal number up to 4294967295)
            nbd+vsock://[::1]/ => cannot parse vsock CID from NBD URI: [::1] (it must be a decimal number up to 4294967295)
            nbd+vsock://2:4294967296/ => invalid port in the NBD URI: 4294967296 (it must be from 1 to 4294967295)
            nbd+vsock://2:0/ => invalid port in the NBD URI: 0 (it must be from 1 to 4294967295)
            nbd://h:0/ => invalid port in the NBD URI: 0 (it must be from 1 to 65535)
            nbd://h:65536/ => invalid port in the NBD URI: 65536 (it must be from 1 to 65535)
            nbd://h:99999999999999999999999/ => invalid port in the NBD URI: 99999999999999999999999 (it must be from 1 to 65535)
            nbd://h:nbd/ => invalid port in the NBD URI: 'nbd'
            nbd://h:1:2/ => invalid port in the NBD URI: '1:2'
            nbd://h:-1/ => invalid port in the NBD URI: '-1'
            nbd://[::1/ => missing ']' after the IPv6 address in the NBD URI
            nbd://[::1]x/ => unexpected text after the IPv6 address in the NBD URI: x
            nbd://[1:2]/ => invalid IPv6 address in the NBD URI: [1:2]
            nbd://[1::2::3]/ => invalid IPv6 address in the NBD URI: [1::2::3]
            nbd://[12345::]/ => invalid IPv6 address in the NBD URI: [12345::]
            nbd://[::1.2.3.256]/ => invalid IPv6 address in the NBD URI: [::1.2.3.256]
            nbd://[1:2:3:4:5:6:7:8::]/ => invalid IPv6 address in the NBD URI: [1:2:3:4:5:6:7:8::]
            nbd://[v1.fe80]/ => invalid IPv6 address in the NBD URI: [v1.fe80]
            nbd://[fe80::1%25eth0]/ => invalid IPv6 address in the NBD URI: [fe80::1%25eth0]
            nbd://a%3Ab/ => NBD URI host name must not contain ':' (use [...] for IPv6): a:b
            nbd://a]b/ => invalid character ']' at offset 7 in the NBD URI host name (write it as %5D)
            nbd://h/a b => invalid character ' ' at offset 9 in the NBD URI path (write it as %20)
            nbd://h/a\\b => invalid character '\\' at offset 9 in the NBD URI path (write it as %5C)
            nbd://h/a%zzb => invalid percent-encoding "%zz" at offset 9 in the NBD URI path
            nbd://h/a%4 => invalid percent-encoding "%4" at offset 9 in the NBD URI path
            nbd://h/a% => invalid percent-encoding "%" at offset 9 in the NBD URI path
            nbd://h/%C3 => percent-encoded bytes in the NBD URI path are not valid UTF-8
            nbd://h/%FF%FE => percent-encoded bytes in the NBD URI path are not valid UTF-8
            nbd://h/a%00b => the NBD URI export name contains NUL (%00), which is only allowed in the socket parameter
            nbd://h%00/ => the NBD URI host name contains NUL (%00), which is only allowed in the socket parameter
            nbds://a%00@h/ => the NBD URI user name contains NUL (%00), which is only allowed in the socket parameter
            nbds://h/?tls-hostname=a%00 => the NBD URI parameter tls-hostname contains NUL (%00), which is only allowed in the socket parameter
            nbd://h/?x%00=1 => the NBD URI query parameter name contains NUL (%00), which is only allowed in the socket parameter
            nbd://h/?a=b c => invalid character ' ' at offset 12 in the NBD URI query (write it as %20)
            nbd://h/?a=%G0 => invalid percent-encoding "%G0" at offset 11 in the NBD URI query
            nbd://h/#a b => invalid character ' ' at offset 10 in the NBD URI fragment (write it as %20)
            nbd://a@b@h/ => invalid character '@' at offset 7 in the NBD URI user name (write it as %40)
            nbd://al ice@h/ => invalid character ' ' at offset 8 in the NBD URI user name (write it as %20)
            nbds://h/?tls-verify-peer=maybe => could not parse tls-verify-peer parameter 'maybe' in the NBD URI, expecting tls-verify-peer=true|false
            nbds://h/?TLS-VERIFY-PEER => could not parse TLS-VERIFY-PEER parameter '' in the NBD URI, expecting TLS-VERIFY-PEER=true|false
            """)
    void rejected(String uri, String message) {
        UriSyntaxError e = assertThrows(UriSyntaxError.class, () -> NbdUri.parse(uri));
        assertEquals(message, e.getMessage());
        assertEquals(22, e.getErrno());
    }

    @Test
    void controlsAndLoneSurrogatesAreRefused() {
        String[][] cases = {
            {"\t", "U+0009 at offset 9 in the NBD URI path (write it as %09)"},
            {"\u007F", "U+007F at offset 9 in the NBD URI path (write it as %7F)"},
            {"\u0085", "U+0085 at offset 9 in the NBD URI path (write it as %C2%85)"},
            {"\uD800", "U+D800 at offset 9 in the NBD URI path"},
        };
        for (String[] c : cases) {
            UriSyntaxError e = assertThrows(UriSyntaxError.class, () -> NbdUri.parse("nbd://h/a" + c[0] + "b"));
            assertEquals("invalid character " + c[1], e.getMessage());
        }
    }
}
