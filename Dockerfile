# realm-export in a container. Build the jars on the host first:
#   mvn -B -DskipTests package && docker compose build
# (the images only copy the built jars and their lib/, see .dockerignore)
#
# The default image (the last stage, `services`) runs the services: producer, shard-worker,
# assembler, request, status, verify, export-user, from cli/target/realm-export-services.jar; it
# holds no embedded Kafka broker, PostgreSQL binaries or S3 server. The `full` target is the jar
# ./realm-export runs (local-cli/target/realm-export.jar), which adds stack, demo and generate:
# docker-compose's `generate` tool uses it.
FROM eclipse-temurin:17-jre AS base

RUN useradd --system --uid 10001 --home-dir /opt/realm-export realm-export \
    && mkdir -p /exports /uploads /var/lib/realm-export \
    && chown realm-export /exports /uploads /var/lib/realm-export

WORKDIR /opt/realm-export
USER realm-export
# The container's memory limit bounds the heap; the sub-command comes from `command:`. The serial
# collector from a small heap and the native heap trimmed every 5 s, as ./realm-export does (see the
# reasons there): native memory the JVM has freed (JIT arenas, zlib, RocksDB) otherwise stays
# resident in glibc's arenas. The image's Java 17 has the option (17.0.9 on; experimental before
# 17.0.11, hence the unlock). Four times the C2 (tier-4) thresholds, as ./realm-export gives the
# services (see the reason there).
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+UseSerialGC", "-Xms32m", "-XX:+UnlockExperimentalVMOptions", "-XX:TrimNativeHeapInterval=5000", "-XX:Tier4InvocationThreshold=20000", "-XX:Tier4MinInvocationThreshold=2400", "-XX:Tier4CompileThreshold=60000", "-XX:Tier4BackEdgeThreshold=160000", "-jar", "/opt/realm-export/realm-export.jar"]
CMD ["--help"]

FROM base AS full
COPY local-cli/target/lib/ lib/
COPY local-cli/target/realm-export.jar realm-export.jar

FROM base AS services
COPY cli/target/lib/ lib/
COPY cli/target/realm-export-services.jar realm-export.jar
