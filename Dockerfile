# The realm-export command in a container. Build the jar on the host first:
#   mvn -B -DskipTests package && docker compose build
# (the image only copies cli/target/realm-export.jar and cli/target/lib/, see .dockerignore)
FROM eclipse-temurin:17-jre

RUN useradd --system --uid 10001 --home-dir /opt/realm-export realm-export \
    && mkdir -p /exports /uploads /var/lib/realm-export \
    && chown realm-export /exports /uploads /var/lib/realm-export

WORKDIR /opt/realm-export
COPY cli/target/lib/ lib/
COPY cli/target/realm-export.jar realm-export.jar

USER realm-export
# The container's memory limit bounds the heap; the sub-command comes from `command:`.
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:+UseSerialGC", "-Xms32m", "-jar", "/opt/realm-export/realm-export.jar"]
CMD ["--help"]
