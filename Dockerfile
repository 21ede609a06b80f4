# One image for every Covenant service: `covenant serve <service>`.
# Build stage: compilers and headers for packages with C extensions (durable-rules, argon2).
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN python -m venv /opt/covenant
ENV PATH=/opt/covenant/bin:$PATH
COPY pyproject.toml README.md ./
COPY libs ./libs
COPY services ./services
RUN pip install --no-cache-dir --upgrade pip && pip install --no-cache-dir .

# Final stage: no compilers, non-root, read-only friendly (state lives in mounted volumes: the chart mounts
# emptyDirs at /var/lib/covenant and /tmp and the rule-pack ConfigMap at /etc/covenant/rules).
FROM python:3.11-slim
LABEL org.opencontainers.image.title="covenant" \
      org.opencontainers.image.description="Covenant rules-engine gRPC services: covenant serve <service>"
RUN groupadd --system --gid 10001 covenant \
    && useradd --system --uid 10001 --gid covenant --home-dir /var/lib/covenant --shell /usr/sbin/nologin covenant
COPY --from=build /opt/covenant /opt/covenant
COPY rules /etc/covenant/rules
ENV PATH=/opt/covenant/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    COVENANT_DATA_DIR=/var/lib/covenant \
    COVENANT_RULES_DIR=/etc/covenant/rules
USER 10001:10001
EXPOSE 50051 50052 50053 50054 50055 50056
ENTRYPOINT ["covenant"]
CMD ["serve", "identity"]
