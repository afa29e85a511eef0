package org.realmexport.cli;

import org.realmexport.common.config.RealmExportConfig;
import picocli.CommandLine.Option;

import java.util.Map;

/** Where the Kafka cluster is and which topics to use. */
public class KafkaOptions implements Settings.Source {
    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT",
            description = "Kafka bootstrap servers (env KAFKA_BOOTSTRAP; default localhost:9092).")
    String bootstrapServers;

    @Option(names = "--topic-prefix", paramLabel = "PREFIX",
            description = "Prefix of the topics and consumer groups (env TOPIC_PREFIX; default realm-export).")
    String topicPrefix;

    @Override
    public void putExplicit(Map<String, Object> settings) {
        Settings.putIfSet(settings, RealmExportConfig.BOOTSTRAP_SERVERS, bootstrapServers);
        Settings.putIfSet(settings, RealmExportConfig.TOPIC_PREFIX, topicPrefix);
    }
}
