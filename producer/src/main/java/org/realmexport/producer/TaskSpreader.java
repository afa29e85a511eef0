package org.realmexport.producer;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.realmexport.common.Json;
import org.realmexport.common.event.ExportTask;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

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
 * ~{@value #FILE_MICROS} µs with its fsync (which the task's transaction waits for) plus ~1 µs
 * per {@value #BYTES_PER_MICRO} bytes. Where it is off, the spread still holds: the group's
 * default (range) assignor gives each worker a contiguous block of partitions, and among equally
 * loaded partitions the next task goes to the one that alternates between blocks (of 12: 0, 6, 3,
 * 9, 1, 7, ...), so that the heaviest tasks, placed first, are shared between the workers.
 */
final class TaskSpreader {
    static final long MESSAGE_MICROS = 20;
    static final long FILE_MICROS = 1000;
    static final long BYTES_PER_MICRO = 500;

    /** A task and its estimated cost in microseconds of a worker. */
    record Costed(ExportTask task, long cost) {
        /** A message shard: by its planned messages. */
        static Costed shard(ExportTask task) {
            return new Costed(task, Math.max(1, (long) task.expectedCount() * MESSAGE_MICROS));
        }

        /**
         * A file copy batch: by its planned files (an attachment has one, a user's avatar or an emoji
         * two: the image and its original) and, where known, their bytes.
         */
        static Costed copy(ExportTask task, long bytes) {
            long files = (long) task.expectedCount() * (task.kind() == ExportTask.Kind.UPLOADS ? 1 : 2);
            return new Costed(task, Math.max(1, files * FILE_MICROS + bytes / BYTES_PER_MICRO));
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
        int[] order = alternatingOrder(partitions);
        long[] load = new long[partitions];
        List<ProducerRecord<String, byte[]>> out = new ArrayList<>(tasks.size());
        for (Costed c : heaviestFirst) {
            int least = order[0]; // the least loaded; on a tie, the earlier in the alternating order
            for (int p : order) {
                if (load[p] < load[least]) {
                    least = p;
                }
            }
            out.add(new ProducerRecord<>(topic, least, c.task().key(), Json.toBytes(c.task())));
            load[least] += c.cost();
        }
        return out;
    }

    /**
     * The partitions 0..n-1 in an order whose every prefix is spread over the range: the k-th is at
     * the fraction of the range that k's binary digits mirrored give (0, 1/2, 1/4, 3/4, 1/8 ...),
     * or the next partition not yet taken. Of 12: 0, 6, 3, 9, 1, 7, 4, 10, 2, 8, 5, 11.
     */
    static int[] alternatingOrder(int n) {
        int[] order = new int[n];
        boolean[] taken = new boolean[n];
        for (int k = 0; k < n; k++) {
            double fraction = Integer.toUnsignedLong(Integer.reverse(k)) / 0x1p32; // k's bits after the point
            int p = (int) (fraction * n);
            while (taken[p]) {
                p = (p + 1) % n;
            }
            taken[p] = true;
            order[k] = p;
        }
        return order;
    }
}
