package org.realmexport.common.verify;

import java.util.Arrays;

/**
 * References of rows, as (row id, a, b) triples of longs (e.g. a subscription's user and
 * recipient), held until the rows they point at are known: the keys of one JSON object may come
 * in any order, so a table can name rows of a table read after it.
 */
final class RowRefs {
    private long[] data = new long[3 * 256];
    private int size;

    void add(long rowId, long a, long b) {
        if (3 * size + 3 > data.length) {
            data = Arrays.copyOf(data, data.length * 2);
        }
        data[3 * size] = rowId;
        data[3 * size + 1] = a;
        data[3 * size + 2] = b;
        size++;
    }

    int size() {
        return size;
    }

    long rowId(int i) {
        return data[3 * i];
    }

    long a(int i) {
        return data[3 * i + 1];
    }

    long b(int i) {
        return data[3 * i + 2];
    }

    void clear() {
        size = 0;
    }
}
