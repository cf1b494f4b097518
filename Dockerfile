# The image of a node; the portal runs from the same image (`cascade portal ...`).
# Not built on the machines this was written on (no container engine runs there): docs/deploy.md.
#   docker build -t catalog-cascade:0.1.0 .
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
# The exact versions of every dependency (requirements.lock, made by pip-compile), then the
# project itself without resolving anything again.
COPY requirements.lock ./
RUN python -m venv /opt/cascade \
 && /opt/cascade/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.lock
COPY . .
RUN /opt/cascade/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps .

FROM python:3.11-slim-bookworm
# A user of its own (the manifests run the pod as this uid); the database and the certificates
# are volumes the pod mounts: /var/lib/cascade, /etc/cascade/config and /etc/cascade/tls.
RUN groupadd --system --gid 10001 cascade \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/cascade --shell /usr/sbin/nologin cascade \
 && mkdir -p /var/lib/cascade /etc/cascade \
 && chown 10001:10001 /var/lib/cascade
COPY --from=build /opt/cascade /opt/cascade
ENV PATH=/opt/cascade/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
WORKDIR /var/lib/cascade
VOLUME ["/var/lib/cascade"]
EXPOSE 50051 9464 8080
# SIGTERM: health turns NOT_SERVING, in-flight calls get `shutdown_grace`, the database closes
# (the pod's terminationGracePeriodSeconds is longer). `cascade` installs its own handlers, so
# it stops cleanly as process 1.
STOPSIGNAL SIGTERM
ENTRYPOINT ["cascade"]
CMD ["node", "run", "--config", "/etc/cascade/config/node.yaml"]
