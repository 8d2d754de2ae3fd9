package io.jnbd.tools.info;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** nbdinfo's number formats: libnbd's human_size and C's printf, whose results these expectations are. */
class NumbersTest {

    @Test
    void humanSizes() {
        assertNull(Numbers.humanSize(0));
        assertNull(Numbers.humanSize(1));
        assertNull(Numbers.humanSize(4294967295L));
        assertEquals("1K", Numbers.humanSize(1024));
        assertEquals("1M", Numbers.humanSize(1048576));
        assertEquals("32K", Numbers.humanSize(32768));
        assertEquals("3862848K", Numbers.humanSize(3955556352L));
        assertEquals("8G", Numbers.humanSize(8L << 30));
        assertEquals("1E", Numbers.humanSize(1L << 60));
        assertEquals("7E", Numbers.humanSize(7L << 60));
    }

    @Test
    void fixedRoundsTheExactBinaryValueHalfToEven() {
        assertEquals("6.2", Numbers.fixed(6.25, 1));
        assertEquals("93.8", Numbers.fixed(93.75, 1));
        assertEquals("0.1", Numbers.fixed(0.125, 1));
        assertEquals("0.2", Numbers.fixed(0.25, 1));
        assertEquals("0.1", Numbers.fixed(0.15, 1)); // 0.1499999...
        assertEquals("0.5", Numbers.fixed(0.45, 1)); // 0.4500000...1
        assertEquals("100.0", Numbers.fixed(99.99999, 1));
        assertEquals("0.0", Numbers.fixed(1.1641532182693481e-08, 1));
        assertEquals("33.3", Numbers.fixed(100.0 / 3, 1));
    }

    @Test
    void percentG() {
        assertEquals("6.25", Numbers.g(6.25));
        assertEquals("93.75", Numbers.g(93.75));
        assertEquals("100", Numbers.g(100.0));
        assertEquals("100", Numbers.g(99.999994));
        assertEquals("33.3333", Numbers.g(100.0 / 3));
        assertEquals("0.0001", Numbers.g(0.0001));
        assertEquals("1e-05", Numbers.g(0.00001));
        assertEquals("2.5e-05", Numbers.g(2.5e-05));
        assertEquals("1.16415e-08", Numbers.g(1.1641532182693481e-08));
        assertEquals("142857", Numbers.g(1e6 / 7));
        assertEquals("1e+06", Numbers.g(1e6));
        assertEquals("0", Numbers.g(0));
    }
}
