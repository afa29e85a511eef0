package org.realmexport.cli;

import org.realmexport.worker.ShardWorker;
import org.realmexport.worker.ShardWorkerConfig;
import io.micrometer.core.instrument.MeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Map;

@Command(name = "shard-worker", mixinStandardHelpOptions = true,
        header = "Runs one shard worker service.",
        description = "Takes realm-config and message-shard tasks and writes the export's JSON files. Start as "
                + "many as the task topics have partitions; they share the work as one consumer group. "
                + "Runs until Ctrl-C or SIGTERM.")
class ShardWorkerCommand extends ServiceCommand {
    @Option(names = "--zulip-version", paramLabel = "VERSION",
            description = "Zulip version written to migration_status.json; the importer wants its own major "
                    + "version (default: the worker's).")
    String zulipVersion;

    @Option(names = "--worker-id", paramLabel = "ID",
            description = "Name of this worker in task results and logs (default: a random one).")
    String workerId;

    @Override
    void putServiceOptions(Map<String, Object> settings) {
        Settings.putIfSet(settings, ShardWorkerConfig.ZULIP_VERSION, zulipVersion);
        Settings.putIfSet(settings, ShardWorkerConfig.WORKER_ID, workerId);
    }

    @Override
    Running start(Map<String, Object> settings, MeterRegistry registry) {
        ShardWorker worker = new ShardWorker(settings, registry).start();
        return new Running(worker, worker::isRunning);
    }
}
