package org.realmexport.cli;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.realmexport.common.topic.Topics;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The backlog of a consumer group: per topic, end offset minus committed offset, summed over
 * partitions. For the shard workers, a task partition with no committed offset counts whole
 * (from its log start), since no worker has taken anything from it yet.
 */
record ConsumerLag(String group, Map<String, Long> perTopic) {

    long total() {
        return perTopic.values().stream().mapToLong(Long::longValue).sum();
    }

    String describe(Topics topics) {
        if (perTopic.isEmpty()) {
            return group + " -";
        }
        StringBuilder text = new StringBuilder(group).append(' ').append(total()).append(" (");
        String sep = "";
        for (Map.Entry<String, Long> e : perTopic.entrySet()) {
            String topic = e.getKey().startsWith(topics.prefix() + ".")
                    ? e.getKey().substring(topics.prefix().length() + 1) : e.getKey();
            text.append(sep).append(topic).append(' ').append(e.getValue());
            sep = ", ";
        }
        return text.append(')').toString();
    }

    /** The lag of the shard-worker and assembler groups. */
    static List<ConsumerLag> of(Admin admin, Topics topics) throws InterruptedException {
        return List.of(
                of(admin, topics.group("shard-workers"), List.of(topics.configTasks(), topics.shardTasks())),
                of(admin, topics.group("assembler"), List.of()));
    }

    static ConsumerLag of(Admin admin, String group, List<String> inputTopics) throws InterruptedException {
        try {
            Map<TopicPartition, OffsetAndMetadata> committed = new HashMap<>(admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get(15, TimeUnit.SECONDS));
            committed.values().removeIf(v -> v == null);
            Map<TopicPartition, OffsetSpec> ends = new HashMap<>();
            committed.keySet().forEach(tp -> ends.put(tp, OffsetSpec.latest()));
            Map<TopicPartition, OffsetSpec> starts = new HashMap<>();
            if (!inputTopics.isEmpty()) {
                Set<String> existing = admin.listTopics().names().get(15, TimeUnit.SECONDS);
                List<String> present = inputTopics.stream().filter(existing::contains).toList();
                if (!present.isEmpty()) {
                    for (TopicDescription topic : admin.describeTopics(present).allTopicNames()
                            .get(15, TimeUnit.SECONDS).values()) {
                        topic.partitions().forEach(p -> {
                            TopicPartition tp = new TopicPartition(topic.name(), p.partition());
                            ends.put(tp, OffsetSpec.latest());
                            if (!committed.containsKey(tp)) {
                                starts.put(tp, OffsetSpec.earliest());
                            }
                        });
                    }
                }
            }
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> endOffsets =
                    admin.listOffsets(ends).all().get(15, TimeUnit.SECONDS);
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> startOffsets = starts.isEmpty() ? Map.of()
                    : admin.listOffsets(starts).all().get(15, TimeUnit.SECONDS);
            Map<String, Long> perTopic = new TreeMap<>();
            endOffsets.forEach((tp, end) -> {
                long from = committed.containsKey(tp) ? committed.get(tp).offset() : startOffsets.get(tp).offset();
                perTopic.merge(tp.topic(), Math.max(0, end.offset() - from), Long::sum);
            });
            return new ConsumerLag(group, perTopic);
        } catch (ExecutionException | TimeoutException e) {
            return new ConsumerLag(group, Map.of());
        }
    }
}
