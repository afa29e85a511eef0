/**
 * Read-only access to Zulip's PostgreSQL and the writing of its rows as Zulip export JSON.
 *
 * <ul>
 *   <li>{@link org.realmexport.common.db.Database}: a small HikariCP pool of read-only
 *       connections (auto-commit off, so that PostgreSQL streams result sets with a fetch size,
 *       and REPEATABLE READ, so that all the queries of one task see one snapshot).</li>
 *   <li>{@link org.realmexport.common.db.SchemaCatalog}: the tables, columns, primary keys and
 *       foreign keys of the connection's current schema ({@code currentSchema=zulip}), read once
 *       from {@code pg_catalog}. Nothing about Zulip's schema is hard-coded: a table or column that
 *       does not exist is simply absent, one that we never heard of is exported as it is.</li>
 *   <li>{@link org.realmexport.common.db.ZulipRowWriter}: streams the rows of one table from a
 *       result set into a Jackson {@code JsonGenerator}, the way Zulip's {@code export.py} writes
 *       them: Django field names (a real foreign key {@code sender_id} becomes {@code "sender"}),
 *       datetimes as float epoch seconds, json/jsonb embedded as JSON, arrays as lists, and the
 *       columns of {@link org.realmexport.common.db.ExportRules} never written.</li>
 *   <li>{@link org.realmexport.common.db.RealmScope}: what one export of one realm contains
 *       (users, recipients, direct-message groups, exportable messages), as SQL, in one place,
 *       so that the planner, the config writer and the shard writer agree.</li>
 * </ul>
 *
 * <p>Typical use (e.g. the assembler's {@code zerver_client}):
 * <pre>{@code
 * try (Database db = Database.open(config); Connection c = db.connection();
 *      JsonGenerator g = Json.FACTORY.createGenerator(out)) {
 *     ZulipRowWriter clients = ZulipRowWriter.forTable(db.catalog().require("zerver_client"));
 *     g.writeStartObject();
 *     clients.writeList(g, "zerver_client", c, "t.id = ANY(?)", List.of(clientIds), null);
 *     g.writeEndObject();
 * }
 * }</pre>
 */
package org.realmexport.common.db;
