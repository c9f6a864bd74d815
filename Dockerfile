# One image for the gateway and the worker; the command picks which one runs:
#   node dist/src/gateway/main.js   (default)
#   node dist/worker/main.js
# The routing table and the queues are deployment settings, not code: they are mounted at /app/config
# (docker-compose.yml mounts ./config; Kubernetes a ConfigMap, deploy/k8s). Without them the process stops
# with "cannot read routing table /app/config/routes.json".
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The data folder belongs to the user the processes run as: the gateway writes jambonz recordings there. A named
# volume mounted on it starts with this ownership (Docker copies it in); Kubernetes sets it with fsGroup.
RUN mkdir -p /app/.data/recordings && chown -R node:node /app/.data
# HOST: listen on the container's interfaces, not loopback (so the REST API needs API_KEYS: without keys it
# answers loopback clients only). The worker loads the workflow code bundled at build time instead of bundling
# at start.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    DATA_DIR=/app/.data \
    RECORDINGS_DIR=/app/.data/recordings \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js \
    ROUTING_TABLE_PATH=/app/config/routes.json \
    QUEUES_PATH=/app/config/queues.json
USER node
EXPOSE 3000
CMD ["node", "dist/src/gateway/main.js"]
