package io.jnbd.internal.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * Commands in flight by cookie, without boxing: an open-addressing table
 * (linear probing, backward-shift deletion) sized to a power of two. Cookies
 * are sequential, so consecutive ones land in consecutive slots. Not
 * thread-safe: the owner locks.
 */
final class InFlightTable {
    private Command[] slots = new Command[64];
    private int size;

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    void put(Command c) {
        if (2 * (size + 1) > slots.length) {
            grow();
        }
        int mask = slots.length - 1;
        int i = (int) c.cookie & mask;
        while (slots[i] != null) {
            i = (i + 1) & mask;
        }
        slots[i] = c;
        size++;
    }

    Command get(long cookie) {
        int mask = slots.length - 1;
        for (int i = (int) cookie & mask; slots[i] != null; i = (i + 1) & mask) {
            if (slots[i].cookie == cookie) {
                return slots[i];
            }
        }
        return null;
    }

    Command remove(long cookie) {
        int mask = slots.length - 1;
        int i = (int) cookie & mask;
        while (slots[i] != null && slots[i].cookie != cookie) {
            i = (i + 1) & mask;
        }
        Command removed = slots[i];
        if (removed == null) {
            return null;
        }
        slots[i] = null;
        size--;
        // Shift back the entries of the probe run that follows, so lookups never stop early.
        for (int j = (i + 1) & mask; slots[j] != null; j = (j + 1) & mask) {
            int home = (int) slots[j].cookie & mask;
            boolean movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
            if (movable) {
                slots[i] = slots[j];
                slots[j] = null;
                i = j;
            }
        }
        return removed;
    }

    /** Empties the table, returning what was in it. */
    List<Command> drain() {
        List<Command> all = new ArrayList<>(size);
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] != null) {
                all.add(slots[i]);
                slots[i] = null;
            }
        }
        size = 0;
        return all;
    }

    private void grow() {
        Command[] old = slots;
        slots = new Command[old.length * 2];
        size = 0;
        for (Command c : old) {
            if (c != null) {
                put(c);
            }
        }
    }
}
