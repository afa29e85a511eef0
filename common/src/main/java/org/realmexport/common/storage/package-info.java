/** Where export files are written: atomic local files (S3 output is not built yet). */
package org.realmexport.common.storage;
