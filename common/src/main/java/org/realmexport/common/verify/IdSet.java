package org.realmexport.common.verify;

import java.util.Arrays;

/**
 * A set of row ids as a growing {@code long[]}: 8 bytes an id, so the message ids of a large
 * export fit where boxed sets would not. Ids usually arrive ascending; if not, the array is
 * sorted once before the first lookup.
 */
final class IdSet {
    private long[] ids = new long[1024];
    private int size;
    private boolean sorted = true;

    void add(long id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, ids.length * 2);
        }
        if (size > 0 && id < ids[size - 1]) {
            sorted = false;
        }
        ids[size++] = id;
    }

    boolean contains(long id) {
        if (!sorted) {
            Arrays.sort(ids, 0, size);
            sorted = true;
        }
        return Arrays.binarySearch(ids, 0, size, id) >= 0;
    }

    int size() {
        return size;
    }
}
