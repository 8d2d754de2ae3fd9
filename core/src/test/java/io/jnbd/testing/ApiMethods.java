package io.jnbd.testing;

import io.jnbd.NbdHandle;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Type;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** NbdHandle's public methods as the API tests and the generated coverage page see and spell them. */
public final class ApiMethods {
    private static final Set<String> OBJECT_METHODS = Arrays.stream(Object.class.getMethods()).map(Method::getName)
            .collect(Collectors.toUnmodifiableSet());

    private static final List<Method> PUBLIC_METHODS = Arrays.stream(NbdHandle.class.getMethods())
            .filter(m -> m.getDeclaringClass() == NbdHandle.class && !Modifier.isStatic(m.getModifiers()))
            .filter(m -> !OBJECT_METHODS.contains(m.getName()))
            .sorted(Comparator.comparing(ApiMethods::signature))
            .toList();

    private ApiMethods() {
    }

    /** Public instance methods of NbdHandle, overloads included, Object's excluded; ordered by signature. */
    public static List<Method> publicMethods() {
        return PUBLIC_METHODS;
    }

    /** {@code connectCommand(List<String>)}. */
    public static String signature(Method m) {
        return m.getName() + Arrays.stream(m.getGenericParameterTypes()).map(ApiMethods::simple)
                .collect(Collectors.joining(", ", "(", ")"));
    }

    /** {@code void connectCommand(List<String>)}. */
    public static String signatureWithReturn(Method m) {
        return simple(m.getGenericReturnType()) + " " + signature(m);
    }

    /** {@code java.util.List<java.lang.String>} → {@code List<String>}. */
    public static String simple(Type t) {
        return t.getTypeName().replaceAll("\\b[a-z][a-z0-9_]*\\.", "");
    }
}
