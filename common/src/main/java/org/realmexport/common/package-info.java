/** Shared records, topic names, JSON writing, storage and database access. */
package org.realmexport.common;
