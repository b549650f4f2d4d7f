# The Maestro server image (docs/deploy.md). Two stages:
#   build    all dependencies (dev included), the bundles dist/main.js, dist/client/ and dist/cli/
#   runtime  production dependencies only, the bundle and the executable, a non-root user, tini as PID 1
# test/server/container.test.ts runs this file's npm, COPY, ENV, USER, HEALTHCHECK and CMD steps in a clean copy
# (no container engine needed): keep one instruction per line.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` needs the sources, which are copied next; it runs below
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build:dist && npm run build:client

FROM ${NODE_IMAGE} AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
# HOST=0.0.0.0 is only accepted together with MAESTRO_API_TOKEN (docs/behaviour.md §6.2): without a token the
# container stops at once with one CONFIG_ERROR line. Pass the token at run time, never in the image.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data SESSION_DIR=/sessions SKILLS_DIR=/skills LOG_FORMAT=json
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/static ./static
RUN mkdir -p /data /sessions /skills && chown node:node /data /sessions
USER node
VOLUME ["/data", "/sessions"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# tini reaps the children of spawned CLI runs and passes SIGTERM on; the server stops within 5 s (exit 0).
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "bin/maestro-server.js"]
