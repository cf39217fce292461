# The millrace image: the CLI with its sources (run through tsx; no build step).
#   docker build -t millrace .
#   docker run --rm millrace --help
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
ENTRYPOINT ["node", "bin/millrace.js"]
CMD ["--help"]
