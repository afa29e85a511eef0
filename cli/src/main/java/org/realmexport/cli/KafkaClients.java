package org.realmexport.cli;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.realmexport.common.config.RealmExportConfig;
import org.realmexport.common.topic.Topics;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

/**
 * Kafka clients of the short-lived commands (request, status). They fail fast (seconds, not
 * Kafka's default minute) when the cluster cannot be reached; {@code kafka.*} settings still
 * override every default here.
 */
final class KafkaClients {
    /** Closing a client that never reached the cluster must not wait for it. */
    static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(2);

    private KafkaClients() {
    }

    static RealmExportConfig config(Map<String, Object> settings) {
        return new RealmExportConfig(RealmExportConfig.baseConfigDef(), settings);
    }

    static Properties properties(RealmExportConfig config) {
        Properties props = new Properties();
        props.putAll(config.kafkaProperties());
        // Kafka refuses an API timeout below the request timeout: keep them consistent
        long api = Long.parseLong(props.getOrDefault(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000").toString());
        long request = Long.parseLong(props.getOrDefault(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                String.valueOf(Math.min(10_000, api))).toString());
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(Math.max(api, request)));
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(request));
        return props;
    }

    static Properties producerProperties(RealmExportConfig config) {
        Properties props = new Properties();
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
        props.putAll(properties(config));
        return props;
    }

    /** A consumer without a group: it reads from where it is told and commits nothing. */
    static Properties readerProperties(RealmExportConfig config) {
        Properties props = new Properties();
        props.putAll(properties(config));
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return props;
    }

    static Admin admin(RealmExportConfig config) {
        return Admin.create(properties(config));
    }

    /** Creates the missing topics; an unreachable cluster is the user's to fix (exit 2). */
    static void ensureTopics(Admin admin, RealmExportConfig config) throws InterruptedException {
        Topics topics = config.topics();
        try {
            topics.ensureCreated(admin, config.getInt(RealmExportConfig.TASK_PARTITIONS),
                    config.getShort(RealmExportConfig.REPLICATION_FACTOR));
        } catch (IllegalStateException e) {
            throw unreachable(config, e);
        }
    }

    /** Whether the topic exists; an unreachable cluster is the user's to fix (exit 2). */
    static boolean topicExists(Admin admin, RealmExportConfig config, String topic) throws InterruptedException {
        try {
            return admin.listTopics().names().get().contains(topic);
        } catch (ExecutionException e) {
            throw unreachable(config, e);
        }
    }

    static UsageException unreachable(RealmExportConfig config, Throwable cause) {
        return new UsageException("cannot reach Kafka at " + config.getString(RealmExportConfig.BOOTSTRAP_SERVERS)
                + ": " + RealmExportCommand.describe(RealmExportCommand.unwrap(cause)), cause);
    }
}
