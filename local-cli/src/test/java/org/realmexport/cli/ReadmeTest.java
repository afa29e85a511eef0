package org.realmexport.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** README.md stays true: its commands exist, its config reference is the code's, CI runs its test command. */
class ReadmeTest {
    static final Path ROOT = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();
    static final String START = "<!-- config-reference:start -->\n";
    static final String END = "<!-- config-reference:end -->";

    static String readme() throws IOException {
        return Files.readString(ROOT.resolve("README.md"));
    }

    @Test
    void theFirstLinesAreTheDemoAndTheTests() throws IOException {
        List<String> lines = readme().lines().filter(l -> !l.isBlank()).limit(3).toList();

        assertThat(lines.get(0)).startsWith("# ");
        assertThat(lines.get(1).trim()).startsWith("./realm-export demo");
        assertThat(lines.get(2).trim()).startsWith("mvn -B verify");
    }

    @Test
    void ciRunsExactlyTheReadmesTestCommand() throws IOException {
        List<String> ci = Files.readAllLines(ROOT.resolve(".ci/run"));

        assertThat(ci.get(0)).isEqualTo("#!/usr/bin/env bash");
        assertThat(ci).contains("set -euo pipefail", "mvn -B verify");
        assertThat(Files.isExecutable(ROOT.resolve(".ci/run"))).isTrue();
    }

    @Test
    void everyCommandTheReadmeShowsIsASubCommand() throws IOException {
        Set<String> subCommands = RealmExportCommand.commandLine(new RealmExportCommand()).getSubcommands().keySet();
        Matcher m = Pattern.compile("\\./realm-export ([a-z][a-z-]*)").matcher(readme());
        int found = 0;
        while (m.find()) {
            assertThat(subCommands).as("README shows ./realm-export " + m.group(1)).contains(m.group(1));
            found++;
        }
        assertThat(found).isGreaterThan(5);
    }

    @Test
    void theConfigurationReferenceIsRenderedFromTheConfigDefs() throws IOException {
        String readme = readme();
        int start = readme.indexOf(START);
        int end = readme.indexOf(END);
        assertThat(start).as("README marker " + START.trim()).isNotNegative();
        assertThat(end).isGreaterThan(start);

        String expected = ConfigReference.markdown().stripLeading();
        if (!readme.substring(start + START.length(), end).equals(expected)) {
            Path fixed = ROOT.resolve("local-cli/target/README.expected.md");
            Files.writeString(fixed, readme.substring(0, start + START.length()) + expected + readme.substring(end));
            throw new AssertionError("README.md's configuration reference differs from the ConfigDefs; "
                    + "the corrected README is in " + fixed);
        }
    }

    @Test
    void theTestLogConfigurationKeepsOtherLibrariesAtWarn() throws IOException {
        String logback = Files.readString(ROOT.resolve("config/logback-test.xml"));

        assertThat(logback).containsPattern("<root level=\"(WARN|ERROR)\">");
    }
}
