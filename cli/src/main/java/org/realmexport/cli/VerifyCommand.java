package org.realmexport.cli;

import org.realmexport.common.verify.ExportVerifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "verify", mixinStandardHelpOptions = true,
        header = "Checks an export directory or tarball.",
        description = "Checks an export (its directory or its .tar.gz) for what Zulip's importer needs and for "
                + "its own integrity: required files and keys, message files, ids, references, records.json, "
                + "stats.json and the manifest's checksums. Prints one line per problem and exits 1, or one "
                + "OK line and exits 0.")
class VerifyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "PATH", description = "Export directory zulip-export-<id>/ or zulip-export-<id>.tar.gz.")
    Path path;

    @Option(names = "--work-dir", paramLabel = "DIR",
            description = "Where a tarball is unpacked while it is checked (default: the system's temp directory).")
    Path workDir;

    @Override
    public Integer call() throws Exception {
        ExportVerifier.Report report;
        try {
            report = new ExportVerifier(workDir).verify(path);
        } catch (NoSuchFileException e) {
            throw new UsageException(path + ": no such file or directory");
        }
        PrintWriter out = spec.commandLine().getOut();
        report.problems().forEach(out::println);
        out.println(report.summary());
        return report.ok() ? RealmExportCommand.OK : RealmExportCommand.FAILED;
    }
}
