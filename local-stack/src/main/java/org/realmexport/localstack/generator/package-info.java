/**
 * Synthetic Zulip organizations in PostgreSQL, for the demo, the tests and benchmarks.
 *
 * <p>Public face: {@link org.realmexport.localstack.generator.RealmGenerator} (configured by
 * {@link org.realmexport.localstack.generator.GeneratorOptions}, returning
 * {@link org.realmexport.localstack.generator.GeneratedRealms} of two
 * {@link org.realmexport.localstack.generator.GeneratedRealm}s, failing with
 * {@link org.realmexport.localstack.generator.GeneratorException}) and
 * {@link org.realmexport.localstack.generator.ZulipSchema}, the Zulip-shaped DDL
 * ({@code zulip-schema.sql}). Everything else is package-private: the in-memory model of the
 * small tables ({@code Model}, {@code ModelBuilder}), the per-message planner replayed by the
 * streaming COPY passes ({@code MessagePlanner}, {@code MessageLoader}), and the upload staging.
 */
package org.realmexport.localstack.generator;
