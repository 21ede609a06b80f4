# One image for every Covenant service: `covenant serve <service>`. Built offline by `make image`
# (scripts/build_image.sh): every Python package comes from wheels built on the host (scripts/
# build_wheelhouse.sh: dependencies in .cache/image/wheelhouse, the covenant wheel in .cache/image/app) and is
# installed with --no-index, so the build needs no network and no compiler. BASE is the official
# python:3.11-slim where it can be pulled, or a local Debian 12 base made with debootstrap
# (scripts/build_base.sh); both are Debian bookworm with CPython 3.11.
ARG BASE=docker.io/library/python:3.11-slim

# Dependencies (a layer that changes only with pyproject.toml), and cyclonedx-bom in a venv of its own.
FROM ${BASE} AS deps
ARG WHEELHOUSE=.cache/image/wheelhouse
COPY ${WHEELHOUSE} /wheels
RUN python3 -m venv --without-pip /opt/covenant \
    && python3 -m venv /opt/sbom \
    && /opt/sbom/bin/pip install --no-cache-dir --no-index --find-links /wheels cyclonedx-bom \
    && /opt/sbom/bin/pip --python /opt/covenant/bin/python install --no-cache-dir --no-index \
       --find-links /wheels --requirement /wheels/requirements.txt

# Final stage: no compilers, no pip, non-root, read-only friendly (state lives in mounted volumes: the chart
# mounts the data volume at /var/lib/covenant, an emptyDir at /tmp and the rule-pack ConfigMap at
# /etc/covenant/rules). The CycloneDX SBOM of the installed environment is /opt/covenant/share/covenant/.
FROM ${BASE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://github.com/covenant-platform/covenant
ARG INPUTS=""
RUN groupadd --gid 10001 covenant \
    && useradd --no-create-home --uid 10001 --gid covenant --home-dir /var/lib/covenant --shell /usr/sbin/nologin covenant \
    && mkdir -p /var/lib/covenant \
    && chown 10001:10001 /var/lib/covenant
COPY --from=deps /opt/covenant /opt/covenant
COPY rules /etc/covenant/rules
# The covenant wheel (the only layer that changes with the code; podman keys this layer's cache on the
# wheel's digest, a build argument, BuildKit on the mounted content), then the SBOM, with the pip and cyclonedx-py of the deps stage mounted for this step only.
ARG APP_WHEEL_SHA256
RUN --mount=type=bind,from=deps,source=/opt/sbom,target=/opt/sbom \
    --mount=type=bind,source=.cache/image/app,target=/app \
    if [ -n "${APP_WHEEL_SHA256}" ]; then echo "${APP_WHEEL_SHA256}  $(echo /app/covenant-*.whl)" | sha256sum --check --quiet -; fi \
    && /opt/sbom/bin/pip --python /opt/covenant/bin/python install --no-cache-dir --no-index --no-deps /app/*.whl \
    && mkdir -p /opt/covenant/share/covenant \
    && /opt/sbom/bin/cyclonedx-py environment --output-format JSON --output-reproducible \
       --output-file /opt/covenant/share/covenant/sbom.cdx.json /opt/covenant/bin/python
LABEL org.opencontainers.image.title="covenant" \
      org.opencontainers.image.description="Covenant rules-engine gRPC services: covenant serve <service>" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      io.covenant.sbom="/opt/covenant/share/covenant/sbom.cdx.json" \
      io.covenant.inputs="${INPUTS}"
ENV PATH=/opt/covenant/bin:$PATH \
    HOME=/var/lib/covenant \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    COVENANT_DATA_DIR=/var/lib/covenant \
    COVENANT_RULES_DIR=/etc/covenant/rules
USER 10001:10001
WORKDIR /var/lib/covenant
EXPOSE 50051 50052 50053 50054 50055 50056
ENTRYPOINT ["covenant"]
CMD ["serve", "identity"]
