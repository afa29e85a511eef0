/**
 * What every service measures and how it is served: {@link org.realmexport.common.metrics.ExportMeters}
 * (exports by state, tasks, rows, bytes, task duration), {@link org.realmexport.common.metrics.ServiceMetrics}
 * (the Prometheus registry on {@code metrics.port}, with the service's consumer lag from the Admin API).
 */
package org.realmexport.common.metrics;
