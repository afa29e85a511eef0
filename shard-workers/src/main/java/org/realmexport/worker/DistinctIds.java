package org.realmexport.worker;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The distinct ids seen in a shard's rows (its senders, recipients, usermessage users), for the
 * task result: one {@link #add} per row, a few hundred distinct values among tens of thousands.
 * An open-addressing set of primitives, so a row costs a probe instead of a box and a place in a
 * list sorted at the end (sorting every usermessage's user id took ~4% of a worker's CPU).
 */
final class DistinctIds {
    private static final long EMPTY = Long.MIN_VALUE;

    private long[] slots = newSlots(64);
    private int size;
    private boolean hasEmptyValue;

    void add(long id) {
        if (id == EMPTY) {
            hasEmptyValue = true;
            return;
        }
        int mask = slots.length - 1;
        int i = mix(id) & mask;
        while (true) {
            long s = slots[i];
            if (s == id) {
                return;
            }
            if (s == EMPTY) {
                slots[i] = id;
                if (++size * 2 > slots.length) {
                    grow();
                }
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /** The ids added, each once, ascending. */
    List<Long> sorted() {
        long[] values = new long[size + (hasEmptyValue ? 1 : 0)];
        int n = 0;
        if (hasEmptyValue) {
            values[n++] = EMPTY;
        }
        for (long s : slots) {
            if (s != EMPTY) {
                values[n++] = s;
            }
        }
        Arrays.sort(values);
        List<Long> out = new ArrayList<>(values.length);
        for (long v : values) {
            out.add(v);
        }
        return List.copyOf(out);
    }

    private void grow() {
        long[] old = slots;
        slots = newSlots(old.length * 2);
        size = 0;
        for (long s : old) {
            if (s != EMPTY) {
                add(s);
            }
        }
    }

    private static long[] newSlots(int n) {
        long[] a = new long[n];
        Arrays.fill(a, EMPTY);
        return a;
    }

    /** Spreads sequential ids over the table (the 64-bit finalizer of MurmurHash3). */
    private static int mix(long x) {
        x ^= x >>> 33;
        x *= 0xff51afd7ed558ccdL;
        x ^= x >>> 33;
        return (int) x;
    }
}
