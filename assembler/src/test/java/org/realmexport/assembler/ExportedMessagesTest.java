package org.realmexport.assembler;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

class ExportedMessagesTest {
    @Test
    void membershipMatchesTheIdsOfDenseAndSparseShards() {
        Random random = new Random(7);
        TreeSet<Long> all = new TreeSet<>();
        ExportedMessages exported = new ExportedMessages();
        long next = 100;
        for (int shard = 0; shard < 6; shard++) {
            int gap = shard % 2 == 0 ? 2 : 5_000; // dense (bitmap) and sparse (sorted array) shards
            long[] ids = new long[1000];
            for (int i = 0; i < ids.length; i++) {
                next += 1 + random.nextInt(gap);
                ids[i] = next;
                all.add(next);
            }
            exported.addShard(ids);
        }
        assertThat(exported.count()).isEqualTo(all.size());
        assertThat(exported.min()).isEqualTo(all.first());
        assertThat(exported.max()).isEqualTo(all.last());
        for (long id = all.first() - 10; id <= all.first() + 20_000; id++) {
            assertThat(exported.contains(id)).as("id %d", id).isEqualTo(all.contains(id));
        }
        for (int i = 0; i < 100_000; i++) {
            long id = all.first() + (long) (random.nextDouble() * (all.last() - all.first() + 10));
            assertThat(exported.contains(id)).as("id %d", id).isEqualTo(all.contains(id));
        }
    }
}
