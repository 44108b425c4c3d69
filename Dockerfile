# Gatehouse: one image for the gateway (the default command), the token server, its
# migrations and the example upstream (see compose.yaml and deploy/kubernetes/).
#   docker build -t gatehouse:local .
#   docker run --rm -p 4455:4455 -p 4456:4456 -v "$PWD/my-rules:/etc/gatehouse/rules:ro" gatehouse:local

# Build stage: compile TypeScript. better-sqlite3 builds its native addon from source when no
# prebuilt binary fits, which needs python3, make and g++; none of them reach the final image.
FROM node:20-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# Dependencies first: this layer stays cached while only the sources change.
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
# Then drop the dev dependencies; the compiled better-sqlite3 addon stays in node_modules.
RUN npm run build && npm prune --omit=dev

# Runtime stage: the same base (the addon is built for its Node and libc), no compilers.
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
# package.json too: it makes dist/ an ES module package and holds the version.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
COPY rules ./rules
# The base image's unprivileged user (uid 1000).
USER node
# Gateway proxy and API; token server public and admin.
EXPOSE 4455 4456 4444 4445
# Slim images have no curl: the CLI's own check (exit 0 only on 200). This watches the
# gateway; compose.yaml sets the token server's and the echo's own checks.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "dist/cli/main.js", "health", "alive", "--endpoint", "http://127.0.0.1:4456"]
ENTRYPOINT ["node", "dist/cli/main.js"]
# config/gateway.yml reads rules from /etc/gatehouse/rules: mount yours there.
CMD ["serve", "-c", "config/gateway.yml"]
