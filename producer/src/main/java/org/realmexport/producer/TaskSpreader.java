package org.realmexport.producer;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportTask;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * Spreads an export's shard-topic tasks (message shards and file copy batches) over the topic's
 * partitions by their estimated cost, not by the hash of their keys: the workers of the group each
 * own a fixed set of partitions and take no task from another, so an export ends when the most
 * loaded worker is done. Hashing gave one worker of two ~10 more shards and an extra upload batch
 * (1.3 s of a 1M export with the other worker idle); here every partition gets about the same
 * work (greedy, heaviest task first to the least loaded partition), so any worker count that
 * divides the partition count gets equal shares. Each partition's tasks come heaviest first, so
 * that what is left at an export's end are short tasks. Deterministic: the same tasks and
 * partition count give the same placement, so a plan that is retried is the same plan.
 *
 * <p>The cost model is deliberately rough, from a 1M-message export on the development machine:
 * a message with its usermessages ~{@value #MESSAGE_MICROS} µs of a worker, a copied file
 * ~{@value #FILE_MICROS} µs plus ~1 µs per {@value #BYTES_PER_MICRO} bytes.
 */
final class TaskSpreader {
    static final long MESSAGE_MICROS = 20;
    static final long FILE_MICROS = 500;
    static final long BYTES_PER_MICRO = 500;

    /** A task and its estimated cost in microseconds of a worker. */
    record Costed(ExportTask task, long cost) {
        /** A message shard: by its planned messages. */
        static Costed shard(ExportTask task) {
            return new Costed(task, Math.max(1, (long) task.expectedCount() * MESSAGE_MICROS));
        }

        /** A file copy batch: by its planned files and, where known, their bytes. */
        static Costed copy(ExportTask task, long bytes) {
            return new Costed(task, Math.max(1, task.expectedCount() * FILE_MICROS + bytes / BYTES_PER_MICRO));
        }
    }

    private TaskSpreader() {
    }

    /**
     * The records of {@code tasks} on {@code topic}, each with its partition (0 to
     * {@code partitions - 1}), heaviest task first; equal costs keep the order given.
     */
    static List<ProducerRecord<String, byte[]>> records(String topic, int partitions, List<Costed> tasks) {
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be at least 1: " + partitions);
        }
        List<Costed> heaviestFirst = new ArrayList<>(tasks);
        heaviestFirst.sort(Comparator.comparingLong(Costed::cost).reversed()); // stable
        // least loaded first, the lower partition on a tie: {load, partition}
        PriorityQueue<long[]> loads = new PriorityQueue<>(
                Comparator.<long[]>comparingLong(l -> l[0]).thenComparingLong(l -> l[1]));
        for (int p = 0; p < partitions; p++) {
            loads.add(new long[]{0, p});
        }
        List<ProducerRecord<String, byte[]>> out = new ArrayList<>(tasks.size());
        for (Costed c : heaviestFirst) {
            long[] least = loads.poll();
            out.add(new ProducerRecord<>(topic, (int) least[1], c.task().key(), Json.toBytes(c.task())));
            least[0] += c.cost();
            loads.add(least);
        }
        return out;
    }
}
