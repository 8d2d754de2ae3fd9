package io.jnbd.internal.engine;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

class InFlightTableTest {

    private static Command command(long cookie) {
        Command c = Command.of(0, 0, 0, 0, null, null, null);
        c.cookie = cookie;
        return c;
    }

    /** Random puts and removes, with sequential and colliding cookies, against a HashMap model. */
    @Test
    void behavesLikeAMap() {
        Random r = new Random(7);
        InFlightTable table = new InFlightTable();
        Map<Long, Command> model = new HashMap<>();
        long next = 1;
        for (int step = 0; step < 200_000; step++) {
            if (model.isEmpty() || (model.size() < 300 && r.nextInt(3) > 0)) {
                // Mostly sequential cookies, sometimes a jump that collides modulo the table size.
                long cookie = r.nextInt(10) == 0 ? next + 64L * r.nextInt(8) + 1 : next;
                next = Math.max(next, cookie) + 1;
                if (!model.containsKey(cookie)) {
                    Command c = command(cookie);
                    table.put(c);
                    model.put(cookie, c);
                }
            } else {
                long victim = model.keySet().stream().skip(r.nextInt(model.size())).findFirst().orElseThrow();
                assertSame(model.remove(victim), table.remove(victim));
                assertNull(table.remove(victim));
            }
            assertEquals(model.size(), table.size());
            if (step % 97 == 0) {
                for (Map.Entry<Long, Command> e : model.entrySet()) {
                    assertSame(e.getValue(), table.get(e.getKey()));
                }
                assertNull(table.get(next + 1000));
            }
        }
        assertEquals(model.size(), table.drain().size());
        assertEquals(0, table.size());
    }
}
