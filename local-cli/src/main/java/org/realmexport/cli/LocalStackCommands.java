package org.realmexport.cli;

import java.util.List;

/** stack, demo and generate: the commands that need local-stack, added to the full realm-export jar. */
public final class LocalStackCommands implements SubcommandProvider {
    @Override
    public List<Object> subcommands() {
        return List.of(new StackCommand(), new DemoCommand(), new GenerateCommand());
    }
}
