package org.realmexport.cli;

import picocli.CommandLine.Option;

/** How a command that asks for an export names its request and follows it: request and export-user. */
class WaitOptions {
    @Option(names = "--request-id", paramLabel = "ID",
            description = "Request id (default: a new UUID). Posting the same id again is the same export.")
    String requestId;

    @Option(names = "--wait", description = "Wait for the export to end, with a progress bar on stderr.")
    boolean await;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "0",
            description = "With --wait: give up (exit 1) after this many seconds; 0 waits forever (default).")
    long timeout;
}
