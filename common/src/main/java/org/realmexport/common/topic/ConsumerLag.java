package org.realmexport.common.topic;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The backlog of a consumer group: per topic, the records between the committed offset and the
 * end of each partition. For the shard workers, a task partition with no committed offset counts
 * from its log start, since no worker has taken anything from it yet.
 *
 * <p>Every writer of these topics is transactional, and each transaction leaves a commit marker
 * that takes an offset but is no record: a partition whose last task is done still has
 * end − committed = 1. So where that difference is not zero, the records in between are counted
 * with a read_committed reader (which also skips aborted records); past {@link #EXACT_LIMIT}
 * records the offset difference stands as an estimate.
 *
 * <p>The records so counted are also counted per export, by their key (tasks are keyed
 * {@code <export id>/<task id>}, results by export id), so that one export's backlog is told from
 * another's; {@code perExport} is null where the lag is only an estimate.
 */
public record ConsumerLag(String group, Map<String, Long> perTopic, List<Member> members, Map<String, Long> perExport) {
    static final int EXACT_LIMIT = 20_000;
    /** The group of the shard workers and of the assembler (Streams application id), by service name. */
    public static final String SHARD_WORKERS = "shard-workers";
    public static final String ASSEMBLER = "assembler";
    public static final String PRODUCER = "producer";

    /** One member of the group, as {@code kafka-consumer-groups --describe --members --verbose} shows it. */
    public record Member(String clientId, String host, int partitions) {
        @Override
        public String toString() {
            return clientId + "@" + host + " (" + partitions + " partitions)";
        }
    }

    public long total() {
        return perTopic.values().stream().mapToLong(Long::longValue).sum();
    }

    /**
     * Records of this export waiting for the group; the group's whole lag when the records were not
     * counted one by one (an estimate: any of them may be the export's).
     */
    public long waitingFor(String exportId) {
        return perExport == null ? total() : perExport.getOrDefault(exportId, 0L);
    }

    /** The group has a backlog and nobody to work it off: Burrow's STOPPED. */
    public boolean stopped() {
        return total() > 0 && members.isEmpty();
    }

    public String describe(Topics topics) {
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
        text.append("), ").append(members.size()).append(members.size() == 1 ? " member" : " members");
        if (stopped()) {
            text.append(", STOPPED");
        }
        return text.toString();
    }

    /** The lag of the shard-worker and assembler groups. */
    public static List<ConsumerLag> of(Admin admin, Properties readerProperties, Topics topics) throws InterruptedException {
        return List.of(
                of(admin, readerProperties, topics.group(SHARD_WORKERS), inputTopics(topics, SHARD_WORKERS)),
                of(admin, readerProperties, topics.group(ASSEMBLER), inputTopics(topics, ASSEMBLER)));
    }

    /** The topics a service's group consumes, whose lag is its backlog. */
    public static List<String> inputTopics(Topics topics, String service) {
        return switch (service) {
            case SHARD_WORKERS -> List.of(topics.configTasks(), topics.shardTasks());
            case ASSEMBLER -> List.of(topics.shardResults());
            case PRODUCER -> List.of(topics.requests());
            default -> List.of();
        };
    }

    /**
     * The group's lag on {@code inputTopics} (and on any other topic it has committed offsets
     * of), and its members; an empty lag when the cluster did not answer in time.
     */
    public static ConsumerLag of(Admin admin, Properties readerProperties, String group, List<String> inputTopics)
            throws InterruptedException {
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
            Map<TopicPartition, long[]> behind = new HashMap<>(); // partition -> {from, end}
            Map<String, Long> perTopic = new TreeMap<>();
            endOffsets.forEach((tp, end) -> {
                long from = committed.containsKey(tp) ? committed.get(tp).offset() : startOffsets.get(tp).offset();
                perTopic.putIfAbsent(tp.topic(), 0L);
                if (end.offset() > from) {
                    behind.put(tp, new long[] {from, end.offset()});
                }
            });
            Counted counted = countRecords(readerProperties, behind);
            counted.perPartition().forEach((tp, n) -> perTopic.merge(tp.topic(), n, Long::sum));
            return new ConsumerLag(group, perTopic, members(admin, group), counted.perExport());
        } catch (ExecutionException | TimeoutException e) {
            return new ConsumerLag(group, Map.of(), List.of(), null);
        }
    }

    /** The group's members; none when the group does not exist (yet: no member ever joined). */
    private static List<Member> members(Admin admin, String group) throws InterruptedException, TimeoutException {
        ConsumerGroupDescription description;
        try {
            description = admin.describeConsumerGroups(List.of(group)).describedGroups().get(group).get(15, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return List.of();
        }
        List<Member> members = new ArrayList<>();
        for (MemberDescription m : description.members()) {
            members.add(new Member(m.clientId(), m.host(), m.assignment().topicPartitions().size()));
        }
        members.sort(Comparator.comparing(Member::clientId));
        return members;
    }

    /**
     * Records (not offsets) in each {from, end} range, the offset difference where counting stops
     * early; and per export when every range was counted record by record (else null).
     */
    private record Counted(Map<TopicPartition, Long> perPartition, Map<String, Long> perExport) {
    }

    private static Counted countRecords(Properties readerProperties, Map<TopicPartition, long[]> ranges) {
        Map<TopicPartition, Long> counts = new HashMap<>();
        Map<String, Long> perExport = new TreeMap<>();
        if (ranges.isEmpty()) {
            return new Counted(counts, perExport);
        }
        long estimate = ranges.values().stream().mapToLong(r -> r[1] - r[0]).sum();
        if (estimate > EXACT_LIMIT) {
            ranges.forEach((tp, r) -> counts.put(tp, r[1] - r[0]));
            return new Counted(counts, null);
        }
        Properties props = new Properties();
        props.putAll(readerProperties);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            reader.assign(ranges.keySet());
            ranges.forEach((tp, r) -> {
                reader.seek(tp, r[0]);
                counts.put(tp, 0L);
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline && !reached(reader, ranges)) {
                for (ConsumerRecord<byte[], byte[]> record : reader.poll(Duration.ofMillis(100))) {
                    TopicPartition tp = new TopicPartition(record.topic(), record.partition());
                    if (record.offset() < ranges.get(tp)[1]) {
                        counts.merge(tp, 1L, Long::sum);
                        perExport.merge(exportOf(record.key()), 1L, Long::sum);
                    }
                }
            }
            // an open transaction (or a slow cluster) stops the reader short: the offsets then stand
            boolean exact = true;
            for (Map.Entry<TopicPartition, long[]> e : ranges.entrySet()) {
                if (reader.position(e.getKey()) < e.getValue()[1]) {
                    counts.put(e.getKey(), e.getValue()[1] - e.getValue()[0]);
                    exact = false;
                }
            }
            return new Counted(counts, exact ? perExport : null);
        }
    }

    /** The export id a task or result record is keyed by: the key up to its first '/'. */
    static String exportOf(byte[] key) {
        if (key == null) {
            return "";
        }
        String text = new String(key, StandardCharsets.UTF_8);
        int slash = text.indexOf('/');
        return slash < 0 ? text : text.substring(0, slash);
    }

    private static boolean reached(KafkaConsumer<?, ?> reader, Map<TopicPartition, long[]> ranges) {
        for (Map.Entry<TopicPartition, long[]> e : ranges.entrySet()) {
            if (reader.position(e.getKey()) < e.getValue()[1]) {
                return false;
            }
        }
        return true;
    }
}
