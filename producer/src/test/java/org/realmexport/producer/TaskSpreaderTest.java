package org.realmexport.producer;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportTask;
import org.realmexport.common.event.Versioned;

import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How an export's shard-topic tasks are placed on partitions: each once, equal work per partition, heaviest first. */
class TaskSpreaderTest {
    private static final String TOPIC = "t.shard-tasks";

    private static ExportTask task(ExportTask.Kind kind, int number, int count) {
        return new ExportTask(Versioned.CURRENT, "e1", kind, 2, "full", URI.create("file:///tmp/x"), 1_000_000,
                number, number * 1000L, number * 1000L + 999, count, 0);
    }

    /** A 1M-message realm's tasks: 1000 full shards and a short last one, upload batches, avatars, emoji, icons. */
    private static List<TaskSpreader.Costed> realmTasks() {
        List<TaskSpreader.Costed> tasks = new ArrayList<>();
        for (int k = 1; k <= 1000; k++) {
            tasks.add(TaskSpreader.Costed.shard(task(ExportTask.Kind.MESSAGES, k, 1000)));
        }
        tasks.add(TaskSpreader.Costed.shard(task(ExportTask.Kind.MESSAGES, 1001, 137)));
        for (int b = 1; b <= 7; b++) {
            tasks.add(TaskSpreader.Costed.copy(task(ExportTask.Kind.UPLOADS, b, 437), 4_000_000L * b));
        }
        tasks.add(TaskSpreader.Costed.copy(task(ExportTask.Kind.AVATARS, 1, 250), 0));
        tasks.add(TaskSpreader.Costed.copy(task(ExportTask.Kind.AVATARS, 2, 68), 0));
        tasks.add(TaskSpreader.Costed.copy(task(ExportTask.Kind.EMOJI, 1, 2), 0));
        tasks.add(TaskSpreader.Costed.copy(task(ExportTask.Kind.REALM_ICONS, 1, 2), 0));
        return tasks;
    }

    private static Map<String, Long> costs(List<TaskSpreader.Costed> tasks) {
        Map<String, Long> costs = new HashMap<>();
        tasks.forEach(c -> costs.put(c.task().key(), c.cost()));
        return costs;
    }

    private static long[] loads(List<ProducerRecord<String, byte[]>> records, Map<String, Long> costs, int partitions) {
        long[] loads = new long[partitions];
        records.forEach(r -> loads[r.partition()] += costs.get(r.key()));
        return loads;
    }

    @Test
    void everyTaskGoesOnceToAPartitionOfTheTopicAsItself() throws Exception {
        List<TaskSpreader.Costed> tasks = realmTasks();
        List<ProducerRecord<String, byte[]>> records = TaskSpreader.records(TOPIC, 12, tasks);

        assertThat(records).hasSize(tasks.size());
        assertThat(records).extracting(ProducerRecord::key)
                .containsExactlyInAnyOrderElementsOf(tasks.stream().map(c -> c.task().key()).toList());
        for (ProducerRecord<String, byte[]> r : records) {
            assertThat(r.topic()).isEqualTo(TOPIC);
            assertThat(r.partition()).isBetween(0, 11);
            assertThat(Json.fromBytes(r.value(), ExportTask.class).key()).isEqualTo(r.key());
        }
    }

    @Test
    void everyPartitionGetsTheSameWorkWithinOneTask() {
        List<TaskSpreader.Costed> tasks = realmTasks();
        Map<String, Long> costs = costs(tasks);
        long heaviest = costs.values().stream().mapToLong(Long::longValue).max().orElseThrow();
        for (int partitions : new int[] {1, 2, 3, 5, 12, 64}) {
            long[] loads = loads(TaskSpreader.records(TOPIC, partitions, tasks), costs, partitions);
            long max = Arrays.stream(loads).max().orElseThrow();
            long min = Arrays.stream(loads).min().orElseThrow();
            assertThat(max - min).as("%d partitions: %s", partitions, Arrays.toString(loads))
                    .isLessThanOrEqualTo(heaviest);
        }
        // two workers of twelve partitions, whichever six each one is given: within one task of each other
        long[] loads = loads(TaskSpreader.records(TOPIC, 12, tasks), costs, 12);
        long firstHalf = 0;
        long evens = 0;
        long total = 0;
        for (int p = 0; p < 12; p++) {
            total += loads[p];
            firstHalf += p < 6 ? loads[p] : 0;
            evens += p % 2 == 0 ? loads[p] : 0;
        }
        assertThat(Math.abs(2 * firstHalf - total)).isLessThanOrEqualTo(2 * heaviest);
        assertThat(Math.abs(2 * evens - total)).isLessThanOrEqualTo(2 * heaviest);
    }

    @Test
    void eachPartitionTakesItsHeaviestTasksFirstAndShardsInOrder() {
        List<TaskSpreader.Costed> tasks = realmTasks();
        Map<String, Long> costs = costs(tasks);
        List<ProducerRecord<String, byte[]>> records = TaskSpreader.records(TOPIC, 12, tasks);
        Map<Integer, List<String>> byPartition = new HashMap<>();
        records.forEach(r -> byPartition.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(r.key()));
        for (List<String> keys : byPartition.values()) {
            for (int i = 1; i < keys.size(); i++) {
                assertThat(costs.get(keys.get(i))).isLessThanOrEqualTo(costs.get(keys.get(i - 1)));
                if (keys.get(i).startsWith("e1/messages-") && keys.get(i - 1).startsWith("e1/messages-")
                        && costs.get(keys.get(i)).equals(costs.get(keys.get(i - 1)))) {
                    assertThat(keys.get(i)).isGreaterThan(keys.get(i - 1));
                }
            }
        }
        assertThat(costs.get(records.get(0).key()))
                .isEqualTo(costs.values().stream().mapToLong(Long::longValue).max().orElseThrow());
    }

    @Test
    void theHeaviestTasksAreSharedBetweenTheWorkersBlocksOfPartitions() {
        // the uploads are costlier than the model says: still, each of two workers (partitions 0-5
        // and 6-11, the range assignor's blocks) gets half of them, and each of three a third
        List<ProducerRecord<String, byte[]>> records = TaskSpreader.records(TOPIC, 12, realmTasks());
        List<Integer> uploads = records.stream().filter(r -> r.key().startsWith("e1/uploads-"))
                .map(ProducerRecord::partition).toList();
        assertThat(uploads).hasSize(7);
        assertThat(uploads.stream().filter(p -> p < 6).count()).isBetween(3L, 4L);
        assertThat(uploads.stream().filter(p -> p < 4).count()).isBetween(2L, 3L);
        assertThat(uploads.stream().filter(p -> p >= 8).count()).isBetween(2L, 3L);
    }

    @Test
    void theAlternatingOrderIsAPermutationSpreadOverTheRange() {
        assertThat(TaskSpreader.alternatingOrder(12)).containsExactly(0, 6, 3, 9, 1, 7, 4, 10, 2, 8, 5, 11);
        for (int n = 1; n <= 64; n++) {
            int[] order = TaskSpreader.alternatingOrder(n);
            assertThat(order).as("n=%d", n).containsExactlyInAnyOrder(IntStream.range(0, n).toArray());
            if (n >= 2) {
                assertThat(order[1]).as("n=%d: the second is in the other half", n).isGreaterThanOrEqualTo(n / 2);
            }
        }
    }

    @Test
    void theSameTasksGiveTheSamePlacement() {
        List<ProducerRecord<String, byte[]>> a = TaskSpreader.records(TOPIC, 12, realmTasks());
        List<ProducerRecord<String, byte[]>> b = TaskSpreader.records(TOPIC, 12, realmTasks());
        assertThat(b).extracting(r -> r.key() + "@" + r.partition())
                .containsExactlyElementsOf(a.stream().map(r -> r.key() + "@" + r.partition()).toList());
    }

    @Test
    void costsFollowMessagesFilesAndBytes() {
        assertThat(TaskSpreader.Costed.shard(task(ExportTask.Kind.MESSAGES, 1, 1000)).cost())
                .isEqualTo(1000 * TaskSpreader.MESSAGE_MICROS);
        long files = TaskSpreader.Costed.copy(task(ExportTask.Kind.UPLOADS, 1, 500), 0).cost();
        long big = TaskSpreader.Costed.copy(task(ExportTask.Kind.UPLOADS, 1, 500), 256L << 20).cost();
        assertThat(files).isEqualTo(500 * TaskSpreader.FILE_MICROS);
        assertThat(big).isGreaterThan(files);
        assertThat(TaskSpreader.Costed.copy(task(ExportTask.Kind.AVATARS, 1, 250), 0).cost())
                .as("a user's avatar is two files").isEqualTo(500 * TaskSpreader.FILE_MICROS);
        assertThat(TaskSpreader.Costed.shard(task(ExportTask.Kind.MESSAGES, 1, 0)).cost()).isPositive();
    }

    @Test
    void noPartitionsIsAnError() {
        assertThatThrownBy(() -> TaskSpreader.records(TOPIC, 0, realmTasks()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
