# cx700-lab — TEST LAB ONLY. The lab's image where an image registry is reachable; containers/build-image.sh
# builds the same layout with buildah from Debian's packages and the npm registry where none is (ADR 0027).
# See compose.yaml and README "Containers". Inside a container the container's own network namespace is the
# confinement DHCP needs: give it exactly one link (a macvlan on the phones' VLAN) and name it with --interface.

FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY core ./core
COPY certs ./certs
COPY servers ./servers
COPY lab ./lab
COPY phone ./phone
COPY cli ./cli
COPY bench ./bench
COPY scenarios ./scenarios
RUN npm run build && npm prune --omit=dev

FROM node:24.21.0-bookworm-slim
# iproute2: interface mode makes a namespace and a macvlan; nothing else is installed.
RUN apt-get update \
  && apt-get install -y --no-install-recommends iproute2 \
  && rm -rf /var/lib/apt/lists/* \
  && useradd --system --uid 900 --user-group --home-dir /state --no-create-home cx700 \
  && mkdir /state && chown 900:900 /state
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY scenarios ./scenarios
# The lab CA and the leases live here: mount a volume so that phones keep trusting the lab across restarts.
ENV XDG_STATE_HOME=/state NODE_ENV=production
VOLUME ["/state"]
USER cx700
# No EXPOSE: podman's Docker API reports exposed ports as unbound bindings, on which testcontainers waits for
# ever; compose.yaml lists what the lab binds.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8700/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["up", "--mode", "netns", "--interface", "eth0", "--admin", "127.0.0.1:8700"]
