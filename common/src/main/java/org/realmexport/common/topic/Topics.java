package org.realmexport.common.topic;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The topic names of one deployment. A prefix (default {@code realm-export}) lets two
 * deployments share a cluster: prefix {@code staging} gives {@code staging.requests}, ...
 */
public final class Topics {
    public static final String DEFAULT_PREFIX = "realm-export";

    private final String prefix;

    public Topics(String prefix) {
        if (prefix == null || prefix.isBlank() || !prefix.matches("[a-zA-Z0-9._-]+")) {
            throw new IllegalArgumentException("invalid topic prefix '" + prefix + "'");
        }
        this.prefix = prefix;
    }

    public static Topics defaults() {
        return new Topics(DEFAULT_PREFIX);
    }

    public String prefix() {
        return prefix;
    }

    public String requests() {
        return prefix + ".requests";
    }

    public String configTasks() {
        return prefix + ".config-tasks";
    }

    public String shardTasks() {
        return prefix + ".shard-tasks";
    }

    public String shardResults() {
        return prefix + ".shard-results";
    }

    /**
     * Compacted, keyed by export id; as many partitions as {@link #shardResults()}, which is keyed
     * by export id too, so that the assembler reads an export's results and statuses in one task.
     */
    public String status() {
        return prefix + ".status";
    }

    public String deadLetters() {
        return prefix + ".dlq";
    }

    /** Consumer group / application id of a service, so groups of two deployments never mix. */
    public String group(String service) {
        return prefix + "-" + service;
    }

    /**
     * Creates the topics that are missing. Task topics get {@code taskPartitions} partitions
     * (the ceiling on worker parallelism); the status topic is compacted. The results and status
     * topics get the same count, that of the one that exists when only one does: the assembler
     * needs them co-partitioned (it refuses to start otherwise).
     */
    public void ensureCreated(Admin admin, int taskPartitions, short replication)
            throws InterruptedException {
        Set<String> existing;
        try {
            existing = admin.listTopics().names().get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot list Kafka topics: " + e.getCause().getMessage(), e.getCause());
        }
        int inputPartitions = taskPartitions;
        if (existing.contains(shardResults()) != existing.contains(status())) {
            String present = existing.contains(status()) ? status() : shardResults();
            inputPartitions = partitionCounts(admin, List.of(present)).get(present);
        }
        List<NewTopic> wanted = new ArrayList<>();
        wanted.add(new NewTopic(requests(), 3, replication));
        wanted.add(new NewTopic(configTasks(), taskPartitions, replication));
        wanted.add(new NewTopic(shardTasks(), taskPartitions, replication));
        wanted.add(new NewTopic(shardResults(), inputPartitions, replication));
        wanted.add(new NewTopic(status(), inputPartitions, replication)
                .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)));
        wanted.add(new NewTopic(deadLetters(), 1, replication));
        wanted.removeIf(t -> existing.contains(t.name()));
        if (wanted.isEmpty()) {
            return;
        }
        try {
            admin.createTopics(wanted).all().get();
            LOG.info("created topics {}", wanted.stream().map(NewTopic::name).toList());
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("cannot create Kafka topics: " + e.getCause().getMessage(), e.getCause());
            }
            // another service created them first: fine
        }
    }

    /**
     * The partition count of each of the given topics, which must exist (a topic just created may
     * take a moment to be known to every broker: it is asked again for up to 15 s).
     */
    public static Map<String, Integer> partitionCounts(Admin admin, Collection<String> names) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            try {
                Map<String, Integer> counts = new TreeMap<>();
                admin.describeTopics(names).allTopicNames().get()
                        .forEach((name, description) -> counts.put(name, description.partitions().size()));
                return counts;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw new IllegalStateException("cannot describe Kafka topics " + names + ": "
                            + e.getCause().getMessage(), e.getCause());
                }
                Thread.sleep(100);
            }
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(Topics.class);
}
