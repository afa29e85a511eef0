/**
 * Where export files are kept: {@link org.realmexport.common.storage.ExportStore}, the one seam
 * every reader and writer of export files goes through, with one package per backend
 * ({@code local}: a directory; {@code s3}: a bucket prefix), and the factory that picks one from
 * the export's location URI ({@link org.realmexport.common.storage.ExportStores}).
 */
package org.realmexport.common.storage;
