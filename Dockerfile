# syntax=docker/dockerfile:1
# One image, three targets: `api`, `worker` and `migrate` (migrations + seed, run once per release).
# Node 24 runs the TypeScript sources directly (type stripping): there is no build step.

FROM node:24-slim AS base
RUN npm install --global --no-audit --no-fund pnpm@10.34.9
WORKDIR /app

FROM base AS deps
COPY . .
# Production dependencies only. Install scripts are skipped: the one we allow in development
# (the embedded PostgreSQL's) is not used here, where DATABASE_URL always points at a server.
RUN pnpm install --frozen-lockfile --prod --ignore-scripts

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=node:node /app /app
USER node

FROM runtime AS migrate
CMD ["node", "apps/api/src/cli/seed.ts"]

FROM runtime AS worker
CMD ["node", "--max-semi-space-size=8", "apps/worker/src/main.ts"]

FROM runtime AS api
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD node -e "fetch('http://127.0.0.1:3000/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "--max-semi-space-size=8", "apps/api/src/main.ts"]
