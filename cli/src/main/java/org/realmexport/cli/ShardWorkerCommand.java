package org.realmexport.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Map;

@Command(name = "shard-worker", mixinStandardHelpOptions = true,
        header = "Runs one shard worker service.",
        description = "Takes realm-config and message-shard tasks and writes the export's JSON files. Start as "
                + "many as the task topics have partitions; they share the work as one consumer group. "
                + "Runs until Ctrl-C or SIGTERM.")
class ShardWorkerCommand extends ServiceCommand {
    // TODO(lead): use the worker's own constants (e.g. ShardWorkerConfig.ZULIP_VERSION) once it is in main
    static final String ZULIP_VERSION = "zulip.version";
    static final String WORKER_ID = "worker.id";

    @Option(names = "--zulip-version", paramLabel = "VERSION",
            description = "Zulip version written to migration_status.json (default: the worker's).")
    String zulipVersion;

    @Option(names = "--worker-id", paramLabel = "ID",
            description = "Name of this worker in task results and logs (default: the worker's, e.g. host name).")
    String workerId;

    @Override
    void putServiceOptions(Map<String, Object> settings) {
        Settings.putIfSet(settings, ZULIP_VERSION, zulipVersion);
        Settings.putIfSet(settings, WORKER_ID, workerId);
    }

    @Override
    AutoCloseable start(Map<String, Object> settings) {
        // TODO(lead): wire once org.realmexport.worker.ShardWorker is in main:
        //   ShardWorker worker = new ShardWorker(settings);
        //   worker.start();
        //   return worker;
        throw UsageException.notBuiltYet("shard-worker", "org.realmexport.worker.ShardWorker");
    }
}
