package org.realmexport.cli;

import org.realmexport.common.event.ExportRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

@Command(name = "export-user", mixinStandardHelpOptions = true,
        header = "Exports one user's data (Zulip's single-user export) and prints the export id.",
        description = "Posts a single-user export request on the requests topic: the producer, the shard workers and "
                + "the assembler write user.json, the user's message files and files, and the tarball "
                + "(see the README's single-user export format). With --wait, follows it to its end and prints the "
                + "tarball: exit 0 when it succeeded, 1 when it failed (an unknown user, say).")
class ExportUserCommand implements Callable<Integer> {
    @ParentCommand
    RealmExportCommand root;

    @Spec
    CommandSpec spec;

    @Mixin
    KafkaOptions kafka;

    @Mixin
    ConfigOptions config;

    @Option(names = "--realm", required = true, paramLabel = "ID|STRING_ID",
            description = "The user's realm: its numeric id or its string_id ('' is the root-domain realm).")
    String realm;

    @Option(names = "--user", required = true, paramLabel = "ID|EMAIL",
            description = "The user: their id, or their email (delivery email, case-insensitive).")
    String user;

    @Option(names = "--output", paramLabel = "DIR|s3://BUCKET/PREFIX", defaultValue = "export-out",
            description = {"Where the workers and the assembler write the export: a directory they can all reach",
                    "(relative paths are made absolute here; default ${DEFAULT-VALUE}), or an S3 bucket and prefix."})
    String output;

    @Mixin
    WaitOptions waiting;

    @Override
    public Integer call() throws InterruptedException {
        if (user.isBlank()) {
            throw new UsageException("--user must name a user id or email");
        }
        ExportRequest request = ExportRequest.forUser(RequestCommand.requestId(waiting.requestId), realm, user.trim(),
                RequestCommand.location(output), System.currentTimeMillis());
        return RequestCommand.send(spec, root, config, kafka, request,
                String.format("a single-user export of user '%s' of realm '%s'", user.trim(), realm), waiting);
    }
}
