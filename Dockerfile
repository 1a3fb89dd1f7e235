# Foreman's GitHub App: `foreman app` serves webhooks and forks the worker that runs workflows.
# Build: docker build -t foreman .
# Run:   docker run --init -p 3000:3000 -v foreman-home:/data --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
#          -e APP_ID -e PRIVATE_KEY -e WEBHOOK_SECRET -e ANTHROPIC_API_KEY foreman
#        or --env-file .env, the registration's file, instead of the -e APP_ID -e PRIVATE_KEY -e WEBHOOK_SECRET
FROM node:24-slim

# git: clones, worktrees and pushes. ca-certificates: HTTPS to GitHub and the Anthropic API.
# bubblewrap: the OS sandbox gate steps and agents' commands run in. It needs user namespaces,
# which Docker's default seccomp and AppArmor profiles forbid: run with
# --security-opt seccomp=unconfined --security-opt apparmor=unconfined, or the worker refuses to
# run repository code and says so (docs/security.md, "The OS sandbox").
RUN apt-get update \
  && apt-get install -y --no-install-recommends git ca-certificates bubblewrap socat \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
# isolated-vm ships prebuilt binaries for Node 24 on linux-x64 and arm64; nothing compiles here.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY workflows ./workflows
COPY app.yml ./

# Runs, journals, the queue, clones and worktrees live in FOREMAN_HOME: mount a volume there.
RUN useradd --create-home --uid 10001 foreman && mkdir /data && chown foreman /data
USER foreman
ENV FOREMAN_HOME=/data NODE_ENV=production PORT=3000
VOLUME /data
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

ENTRYPOINT ["node", "--no-node-snapshot", "bin/foreman.js"]
CMD ["app"]
