package org.realmexport.localstack;

import org.junit.jupiter.api.Test;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The same round trip as {@link EmbeddedStackTest} against Apache's own broker image, where a
 * Docker engine exists (CI): proves the embedded broker behaves like the real one for our clients.
 * Skipped on machines without Docker.
 */
@Testcontainers(disabledWithoutDocker = true)
class KafkaContainerTest {
    @Container
    static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.3.0");

    @Test
    void producesAndConsumesThroughAConsumerGroup() throws Exception {
        KafkaRoundTrip.produceAndConsume(KAFKA.getBootstrapServers(), "round-trip");
    }
}
