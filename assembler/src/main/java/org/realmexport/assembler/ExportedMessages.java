package org.realmexport.assembler;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * The ids of the exported messages, read from the message files, for the membership tests of the
 * cross-checks (attachment links, reactions). Per shard, a bitmap over its id range when the ids
 * are dense (the usual case: ~1 bit per message) or the sorted ids when they are sparse (a small
 * realm on a big server: 8 bytes per message), whichever is smaller; never rows.
 */
final class ExportedMessages {
    private interface Ids {
        boolean contains(long id);
    }

    private record Dense(long first, BitSet bits) implements Ids {
        public boolean contains(long id) {
            long i = id - first;
            return i >= 0 && i <= Integer.MAX_VALUE && bits.get((int) i);
        }
    }

    private record Sparse(long[] sorted) implements Ids {
        public boolean contains(long id) {
            return Arrays.binarySearch(sorted, id) >= 0;
        }
    }

    private final List<Long> firsts = new ArrayList<>();
    private final List<Long> lasts = new ArrayList<>();
    private final List<Ids> shards = new ArrayList<>();
    private long count;

    /** Adds one shard's ids, ascending, in shard order. */
    void addShard(long[] ascendingIds) {
        if (ascendingIds.length == 0) {
            return;
        }
        long first = ascendingIds[0];
        long last = ascendingIds[ascendingIds.length - 1];
        long span = last - first + 1;
        Ids ids;
        if (span <= Integer.MAX_VALUE && span <= 64L * ascendingIds.length) {
            BitSet bits = new BitSet((int) span);
            for (long id : ascendingIds) {
                bits.set((int) (id - first));
            }
            ids = new Dense(first, bits);
        } else {
            ids = new Sparse(ascendingIds.clone());
        }
        firsts.add(first);
        lasts.add(last);
        shards.add(ids);
        count += ascendingIds.length;
    }

    boolean contains(long id) {
        int lo = 0;
        int hi = firsts.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (id < firsts.get(mid)) {
                hi = mid - 1;
            } else if (id > lasts.get(mid)) {
                lo = mid + 1;
            } else {
                return shards.get(mid).contains(id);
            }
        }
        return false;
    }

    long count() {
        return count;
    }

    boolean isEmpty() {
        return shards.isEmpty();
    }

    long min() {
        return firsts.get(0);
    }

    long max() {
        return lasts.get(lasts.size() - 1);
    }
}
