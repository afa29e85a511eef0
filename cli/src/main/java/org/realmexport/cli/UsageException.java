package org.realmexport.cli;

/**
 * Bad input the user can fix (a negative count, an unreachable database, a missing file):
 * the command prints the message as one line on stderr and exits 2.
 */
public class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }

    public UsageException(String message, Throwable cause) {
        super(message, cause);
    }

    /** A sub-command whose implementation has not landed in this build yet. */
    static UsageException notBuiltYet(String command, String missing) {
        return new UsageException("not built yet (needs " + missing + ", which is not in this build)");
    }
}
