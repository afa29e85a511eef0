package org.realmexport.cli;

import java.util.List;

/**
 * Sub-commands that a larger build adds to {@code realm-export}, found with {@link java.util.ServiceLoader}:
 * the full jar (local-cli) adds those that run the embedded stack, which the services' jar leaves out.
 */
public interface SubcommandProvider {
    /** New picocli command objects, in the order the help lists them. */
    List<Object> subcommands();
}
