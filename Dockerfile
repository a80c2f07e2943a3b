# syntax=docker/dockerfile:1
# tailplow container images (docs/packaging.md). From the repository root:
#   docker build -t tailplow .                          everything: tail, replay, process, run, query, dashboard
#   docker build --target tailer -t tailplow-tailer .   without the embedded ClickHouse engine (chDB, ~540 MB):
#                                                       tail, replay, process with server sinks, check-config
# Both run as the unprivileged user `tailplow` (uid/gid 10001) with their data in the volume /var/lib/tailplow:
#   docker run --rm -v /var/log/nginx:/var/log/nginx:ro -v tailplow:/var/lib/tailplow \
#     -v ./tail.yml:/etc/tailplow/tail.yml:ro tailplow-tailer tail -c /etc/tailplow/tail.yml
# (The entrypoint is the launcher bin/tailplow, which starts node with the options each command
# needs: docs/operating.md "Memory of the tailer".)

# One Node version for every stage; pin the digest too for reproducible builds
# (docker build --build-arg NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:...).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS base
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
WORKDIR /opt/tailplow

# Compiles TypeScript with the dev dependencies; only dist/src goes on.
FROM base AS build
COPY package.json package-lock.json .npmrc ./
# No install scripts are needed: native parts (lmdb, chDB) come prebuilt in their npm packages.
RUN npm ci --include=dev --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
# The project's tsconfig.json also compiles test/, bench/ and scripts/, which tests and benchmarks
# under src/ import; the image needs neither, so compile src/ without them.
RUN printf '%s' '{"extends":"./tsconfig.json","include":["src/**/*.ts"],"exclude":["src/**/*.test.ts","src/**/*.bench.ts"]}' > tsconfig.build.json \
    && npx tsc -p tsconfig.build.json

# Runtime dependencies only.
FROM base AS prod-deps
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

# chDB is loaded only by the embedded sink, `run`, `query` and the dashboard: the tailer image
# leaves it out (lmdb, 18 MB, stays: the profile stage module loads it at start-up).
FROM prod-deps AS tailer-deps
RUN rm -rf node_modules/chdb node_modules/@chdb

# What both images share: the compiled program, its data files and example configs.
FROM base AS app
RUN groupadd --system --gid 10001 tailplow \
    && useradd --system --uid 10001 --gid tailplow --home-dir /var/lib/tailplow --shell /usr/sbin/nologin tailplow \
    && mkdir -p /var/lib/tailplow /etc/tailplow \
    && chown tailplow:tailplow /var/lib/tailplow
COPY package.json ./
COPY bin ./bin
COPY data ./data
COPY config ./config
COPY nginx ./nginx
COPY examples ./examples
COPY --from=build /opt/tailplow/dist/src ./dist/src
# /metrics and /healthz when the config says http.listen: 0.0.0.0:9464.
EXPOSE 9464
ENV TAILPLOW_HEALTH_URL=http://127.0.0.1:9464/healthz
# 200 while the command is healthy (tail: Kafka accepts sends; process: consuming), else 503.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch(process.env.TAILPLOW_HEALTH_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
VOLUME ["/var/lib/tailplow"]
# The user `tailplow` created above, by number so the runtime need not resolve the name.
USER 10001:10001
ENTRYPOINT ["/opt/tailplow/bin/tailplow"]
CMD ["--help"]

FROM app AS tailer
COPY --from=tailer-deps /opt/tailplow/node_modules ./node_modules

# The default target (last stage): everything, including `tailplow run` on the embedded store.
FROM app AS full
COPY --from=prod-deps /opt/tailplow/node_modules ./node_modules
