/**
 * Checks a finished export (directory or tarball) against Zulip's import format and the
 * export's own manifest: {@link org.realmexport.common.verify.ExportVerifier} is the public
 * face; everything else here is package-private.
 */
package org.realmexport.common.verify;
