# bgplb's container image: `docker build -t bgplb:0.1.0 .` at the repository root.
# One image for both daemons; the Deployment runs `bgplb controller`, the DaemonSet `bgplb speaker`.

# Build stage: install bgplb and its dependencies into /install (wheels only; nothing compiled at run time).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bgplb ./bgplb
RUN pip install --no-cache-dir --no-compile --prefix=/install .

# Run stage: the same slim base, the installed packages, and an unprivileged user.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /install /usr/local
RUN groupadd --system --gid 65532 bgplb \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin bgplb
USER 65532:65532
ENTRYPOINT ["bgplb"]
CMD ["--help"]
