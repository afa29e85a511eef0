package org.realmexport.cli;

import org.realmexport.localstack.EmbeddedStack;
import org.realmexport.localstack.generator.GeneratedRealms;
import org.realmexport.localstack.generator.GeneratorOptions;
import org.realmexport.localstack.generator.RealmGenerator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * An embedded stack with a generated realm pair of 3000 messages and a scratch directory, for the
 * export tests that share one per class; closing it stops the stack and removes the directory.
 */
record GeneratedStack(EmbeddedStack stack, GeneratedRealms realms, Path work) implements AutoCloseable {

    static GeneratedStack start(String name, long seed) throws Exception {
        Path work = Files.createTempDirectory(name);
        EmbeddedStack stack = EmbeddedStack.builder().start();
        try {
            GeneratedRealms realms = new RealmGenerator(GeneratorOptions.defaults().withMessages(3000).withSeed(seed)
                    .withUploadsDir(stack.uploadsDir())).generate(stack.jdbcUrl());
            return new GeneratedStack(stack, realms, work);
        } catch (Exception | Error e) {
            stack.close();
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        stack.close();
        try (Stream<Path> files = Files.walk(work)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
