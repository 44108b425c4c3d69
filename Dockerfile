# Multi-stage build: compile TypeScript, then ship dist/ with production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY rules ./rules
COPY config ./config
USER node
EXPOSE 4455 4456 4444 4445
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve", "-c", "config/gateway.yml"]
