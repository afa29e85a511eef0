package org.realmexport.worker;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DistinctIdsTest {
    @Test
    void givesEachIdOnceAscendingLikeASortedSet() {
        Random random = new Random(42);
        for (int round = 0; round < 200; round++) {
            DistinctIds ids = new DistinctIds();
            TreeSet<Long> expected = new TreeSet<>();
            int n = random.nextInt(20_000);
            int range = 1 + random.nextInt(round % 2 == 0 ? 500 : 5_000_000);
            for (int i = 0; i < n; i++) {
                long id = random.nextInt(range) - (round % 7 == 0 ? range / 2 : 0);
                ids.add(id);
                expected.add(id);
            }
            assertEquals(List.copyOf(expected), ids.sorted(), "round " + round);
        }
    }

    @Test
    void keepsTheExtremeValues() {
        DistinctIds ids = new DistinctIds();
        for (long id : new long[] {Long.MIN_VALUE, Long.MAX_VALUE, 0, Long.MIN_VALUE, -1, Long.MAX_VALUE}) {
            ids.add(id);
        }
        assertEquals(List.of(Long.MIN_VALUE, -1L, 0L, Long.MAX_VALUE), ids.sorted());
    }

    @Test
    void isEmptyWhenNothingWasAdded() {
        assertEquals(List.of(), new DistinctIds().sorted());
    }
}
