package org.realmexport.localstack.generator;

/**
 * The generator could not write the realms: bad options, an unreachable database, a realm that
 * already exists, an incomplete schema, unwritable upload storage. The message is one line meant
 * for an operator (the CLI prints it and exits 2); nothing was left half-written.
 */
public class GeneratorException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GeneratorException(String message) {
        super(message);
    }

    public GeneratorException(String message, Throwable cause) {
        super(message, cause);
    }
}
