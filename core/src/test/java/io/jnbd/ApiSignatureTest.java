package io.jnbd;

import io.jnbd.internal.ApiTable;
import io.jnbd.testing.ApiMethods;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * API.md's naming rule and its "Fixed signatures", checked by reflection: a
 * program written against libnbd must translate line by line to these.
 */
class ApiSignatureTest {
    /** API.md's fixed signatures of NbdHandle, transcribed; types by simple name, generics included. */
    private static final List<String> FIXED = List.of(
            "void close()",
            "void connectUri(String)",
            "void connectUnix(String)",
            "void connectTcp(String, String)",
            "void connectVsock(int, int)",
            "void connectCommand(List<String>)",
            "void connectSystemdSocketActivation(List<String>)",
            "void aioConnectUri(String)",
            "void aioConnectUnix(String)",
            "void aioConnectTcp(String, String)",
            "void aioConnectVsock(int, int)",
            "void aioConnectCommand(List<String>)",
            "void aioConnectSystemdSocketActivation(List<String>)",
            "int poll(int)",
            "boolean aioIsConnecting()",
            "boolean aioIsNegotiating()",
            "boolean aioIsReady()",
            "boolean aioIsDead()",
            "boolean aioIsClosed()",
            "void setOptMode(boolean)",
            "void optGo()",
            "void optAbort()",
            "void optInfo()",
            "int optList(ListCallback)",
            "void setExportName(String)",
            "String getExportName()",
            "long getSize()",
            "boolean isReadOnly()",
            "boolean canFlush()",
            "boolean canFua()",
            "boolean canTrim()",
            "boolean canZero()",
            "boolean canCache()",
            "boolean canMultiConn()",
            "String getProtocol()",
            "boolean getStructuredRepliesNegotiated()",
            "boolean getExtendedHeadersNegotiated()",
            "void pread(byte[], long)",
            "void pread(ByteBuffer, long)",
            "void pwrite(byte[], long)",
            "void pwrite(byte[], long, int)",
            "void flush()",
            "void trim(long, long)",
            "void zero(long, long)",
            "void cache(long, long)",
            "long aioPread(ByteBuffer, long, CompletionCallback)",
            "long aioPwrite(ByteBuffer, long, CompletionCallback)",
            "boolean aioCommandCompleted(long)",
            "int aioInFlight()",
            "void setTls(Tls)",
            "void setTlsPskFile(String)",
            "void setTlsUsername(String)",
            "void setTlsCertificates(String)",
            "boolean getTlsNegotiated()",
            "void setStrictMode(int)",
            "void killSubprocess(int)",
            "long getSubprocessPid()",
            "boolean supportsVsock()",
            "void shutdown()");


    @Test
    void javaNamesFollowTheRule() {
        assertEquals("connectVsock", ApiTable.javaName("connect_vsock"));
        assertEquals("aioConnectCommand", ApiTable.javaName("aio_connect_command"));
        assertEquals("getStructuredRepliesNegotiated", ApiTable.javaName("get_structured_replies_negotiated"));
        assertEquals("blockStatus64", ApiTable.javaName("block_status_64"));
        ApiTable.all().forEach((javaName, call) -> assertEquals(ApiTable.javaName(call.cName()), javaName));
    }

    /**
     * A method whose name is a libnbd call spelt differently ({@code getTLSNegotiated},
     * {@code blockstatus64}) is caught here; Java-only methods are only what API.md allows.
     */
    @Test
    void everyPublicMethodIsALibnbdCallByItsRuleName() {
        Map<String, String> byFoldedName = ApiTable.all().values().stream()
                .collect(Collectors.toMap(c -> c.cName().replace("_", ""), ApiTable.Call::javaName));
        List<String> wrong = new ArrayList<>();
        for (Method m : ApiMethods.publicMethods()) {
            String ruleName = byFoldedName.get(m.getName().toLowerCase(Locale.ROOT));
            if (ruleName != null ? !ruleName.equals(m.getName()) : !javaOnly(m)) {
                wrong.add(ApiMethods.signatureWithReturn(m) + (ruleName != null
                        ? ": the rule names it " + ruleName
                        : ": neither a libnbd call, close(), nor a CompletableFuture variant"));
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void fixedSignaturesExistExactly() {
        Set<String> actual = ApiMethods.publicMethods().stream().map(ApiMethods::signatureWithReturn)
                .collect(Collectors.toCollection(TreeSet::new));
        List<String> absent = FIXED.stream()
                .filter(s -> !actual.contains(s))
                .toList();
        assertEquals(List.of(), absent, "API.md's fixed signatures absent from NbdHandle, which has " + actual);
        assertDoesNotThrow(() -> NbdHandle.class.getConstructor());
        assertTrue(AutoCloseable.class.isAssignableFrom(NbdHandle.class));
    }

    @Test
    void fixedCallbackShapes() {
        assertEquals("int (String, String)", lambdaShape(ListCallback.class));
        assertEquals("int (ErrorHolder)", lambdaShape(CompletionCallback.class));
    }

    @Test
    void fixedErrorType() throws NoSuchMethodException {
        assertTrue(RuntimeException.class.isAssignableFrom(NbdException.class), "NbdException is unchecked");
        assertEquals(int.class, NbdException.class.getMethod("getErrno").getReturnType());
    }

    @Test
    void fixedConstants() throws ReflectiveOperationException {
        Map<String, Integer> expected = Map.of("FUA", 1, "NO_HOLE", 2, "DF", 4, "REQ_ONE", 8, "FAST_ZERO", 16,
                "PAYLOAD_LEN", 32);
        for (Map.Entry<String, Integer> e : expected.entrySet()) {
            Field f = CmdFlag.class.getField(e.getKey());
            assertEquals(Modifier.PUBLIC | Modifier.STATIC | Modifier.FINAL, f.getModifiers(), f.toString());
            assertEquals(int.class, f.getType(), f.toString());
            assertEquals(e.getValue(), f.get(null), f.toString());
        }
        assertEquals(List.of("DISABLE", "ALLOW", "REQUIRE"), constantNames(Tls.class));
        assertEquals(List.of("MINIMUM", "PREFERRED", "MAXIMUM", "PAYLOAD"), constantNames(BlockSize.class));
    }

    /** API.md: close() is nbd_close, and each aio command may have a CompletableFuture variant. */
    private static boolean javaOnly(Method m) {
        return m.getName().equals("close") && m.getParameterCount() == 0
                || CompletableFuture.class.isAssignableFrom(m.getReturnType());
    }

    /** A functional interface's one abstract method, without its name, which API.md leaves open. */
    private static String lambdaShape(Class<?> type) {
        List<Method> abstracts = Arrays.stream(type.getMethods())
                .filter(m -> Modifier.isAbstract(m.getModifiers()))
                .toList();
        assertEquals(1, abstracts.size(), type + " is a functional interface");
        Method m = abstracts.getFirst();
        return ApiMethods.simple(m.getGenericReturnType()) + " "
                + ApiMethods.signature(m).substring(m.getName().length());
    }

    private static String nameOf(String signature) {
        return signature.substring(signature.indexOf(' ') + 1, signature.indexOf('('));
    }

    private static List<String> constantNames(Class<? extends Enum<?>> type) {
        return Arrays.stream(type.getEnumConstants()).map(Enum::name).toList();
    }
}
