package org.realmexport.assembler;

import org.apache.kafka.clients.admin.Admin;
import org.realmexport.common.topic.ConsumerLag;
import org.realmexport.common.topic.Topics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

/**
 * What the assembler checks before its stream starts, so that it never counts an export in the
 * wrong place.
 *
 * <p>The stream reads the results and the status topic in one task per partition number (no
 * repartition hop): an export's results and statuses meet only if both topics have the same
 * partition count, as both are keyed by export id. Kafka Streams does not enforce this for merged
 * inputs (it would run max(counts) tasks and count each export's results where its PLANNED status
 * is not), so topics of different counts, such as an earlier version's (status 3, results
 * {@code task.partitions}), make the assembler refuse to start and say how to fix them.
 *
 * <p>An earlier version passed every record through the repartition topic
 * {@code <prefix>-assembler-events-repartition}, which this one no longer reads: records still
 * waiting there would be lost, so it also refuses to start while that topic has any.
 */
final class InputTopicsCheck {
    private static final Logger LOG = LoggerFactory.getLogger(InputTopicsCheck.class);

    private InputTopicsCheck() {
    }

    /** The earlier version's repartition topic (application id + "-events-repartition"). */
    static String earlierRepartitionTopic(Topics topics) {
        return topics.group(ExportAssembler.SERVICE) + "-events-repartition";
    }

    /**
     * The partition count shared by the results and status topics (which must exist).
     *
     * @throws IllegalStateException with what the operator has to do, when the assembler cannot start
     */
    static int verify(Admin admin, Topics topics, Properties readerProperties) throws InterruptedException {
        Map<String, Integer> counts = Topics.partitionCounts(admin, List.of(topics.shardResults(), topics.status()));
        int results = counts.get(topics.shardResults());
        int status = counts.get(topics.status());
        if (results != status) {
            String fewer = results < status ? topics.shardResults() : topics.status();
            throw new IllegalStateException(String.format("topic %s has %d partitions and %s has %d: the assembler"
                    + " counts an export's results and statuses in one task, so both need the same count (topics of"
                    + " an earlier version have 3 status partitions). Let the running exports end with the earlier"
                    + " version (realm-export status: none running, no assembler lag), stop every service, then add"
                    + " partitions to %s: kafka-topics.sh --bootstrap-server ... --alter --topic %s --partitions %d;"
                    + " then start this version.", topics.shardResults(), results, topics.status(), status, fewer,
                    fewer, Math.max(results, status)));
        }
        checkEarlierRepartitionTopic(admin, topics, readerProperties);
        return results;
    }

    private static void checkEarlierRepartitionTopic(Admin admin, Topics topics, Properties readerProperties)
            throws InterruptedException {
        String topic = earlierRepartitionTopic(topics);
        try {
            if (!admin.listTopics().names().get().contains(topic)) {
                return;
            }
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot list Kafka topics: " + e.getCause().getMessage(), e.getCause());
        }
        ConsumerLag lag = ConsumerLag.of(admin, readerProperties, topics.group(ExportAssembler.SERVICE), List.of(topic));
        Long waiting = lag.perTopic().get(topic);
        if (waiting == null || waiting > 0) {
            String what = waiting == null ? "records that may not be counted yet (its lag did not come)"
                    : waiting + (waiting == 1 ? " record" : " records") + " not yet counted";
            throw new IllegalStateException(String.format("topic %s of an earlier assembler version holds %s,"
                    + " and this version does not read it: start the earlier version again until realm-export status"
                    + " shows no assembler lag on it, stop it, then start this version (and delete the topic)",
                    topic, what));
        }
        LOG.info("topic {} of an earlier assembler version is drained and no longer read: delete it"
                + " (kafka-topics.sh --delete --topic {})", topic, topic);
    }
}
