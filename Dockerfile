# The mcp-warden image: one image for the operator (`mcp-warden operator`) and the authz
# service (`mcp-warden authz`); the Helm chart and deploy/*.yaml run it with those
# subcommands. Node is the version pinned for development and CI (package.json's `node`
# devDependency and .nvmrc; test/image/dockerfile.test.ts keeps the three equal).
#   docker build -t mcp-warden:0.1.0 .
ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json cli.ts commands.ts ./
COPY authz authz
COPY operator operator
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# package.json marks the package root (authz/runtime/package-root.ts); examples/ serves `demo --config`.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY examples examples
# The chart's pod securityContext runs as this non-root user with a read-only root filesystem.
USER 65532:65532
# Heap flags: authz/runtime/node-flags.ts says why (fewer full GCs under load).
ENTRYPOINT ["node", "--initial-old-space-size=128", "--max-semi-space-size=32", "/app/dist/cli.js"]
CMD ["--help"]
