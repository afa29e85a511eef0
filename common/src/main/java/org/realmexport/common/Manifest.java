package org.realmexport.common;

/**
 * The keys of an export's manifest.json besides its {@code files} checksums: what was exported,
 * so that {@code verify} can check the privacy rules of that type.
 */
public final class Manifest {
    private Manifest() {
    }

    /** The export type ({@link ExportType#cliName()}), or {@code user} for a single-user export. */
    public static final String TYPE = "export_type";
    /** Full with consent: the ids of the users whose private data the export holds, ascending. */
    public static final String CONSENTING_USERS = "consenting_user_ids";
    /** Single-user export: the exported user's id. */
    public static final String USER = "user_id";
    /** Single-user export: the exported user's realm id. */
    public static final String REALM = "realm_id";
}
