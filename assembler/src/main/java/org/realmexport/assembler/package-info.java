/**
 * The assembler: {@link org.realmexport.assembler.ExportAssembler} (configured by
 * {@link org.realmexport.assembler.ExportAssemblerConfig}) is a Kafka Streams application that
 * counts the task results of each export once, reports progress and decides (complete or failed),
 * and finalizers off the stream thread that turn the workers' files into a finished export:
 * attachment.json cross-checked against the exported messages, zerver_reaction and zerver_client
 * in realm.json, uploads/avatars/emoji/realm icons with their records.json, stats.json,
 * manifest.json and the tarball concatenated from the tar.gz parts. Everything else in this
 * package is internal.
 */
package org.realmexport.assembler;
