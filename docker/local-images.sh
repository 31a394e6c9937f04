#!/bin/sh
# Makes the two base images the Dockerfiles need when no image registry can
# be reached (only a Debian mirror), and tags them:
#   dfs-debian:SUITE  Debian SUITE from debootstrap (minbase), for the
#                     runtime stage and the demo's nginx;
#   dfs-rust:SUITE    that, plus gcc and the Rust toolchain this machine
#                     builds with (`rustc --print sysroot`, 1.80 or later),
#                     for the build stage; it trusts the certificate
#                     authorities this machine trusts (CA_BUNDLE, default
#                     /etc/ssl/certs/ca-certificates.crt), so cargo reaches
#                     crates.io where a proxy inspects TLS.
# Run as root (debootstrap), from anywhere:
#   docker/local-images.sh [SUITE]          # SUITE defaults to bookworm
# then build with them, e.g.
#   DFS_DEBIAN_IMAGE=dfs-debian:bookworm DFS_RUST_IMAGE=dfs-rust:bookworm \
#     docker-compose -f docker/compose.yml up --build
# DEBIAN_MIRROR names another mirror; DOCKER another docker client.
set -eu

suite=${1:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
docker=${DOCKER:-docker}
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

if ! "$docker" image inspect "dfs-debian:$suite" >/dev/null 2>&1; then
    debootstrap --variant=minbase "$suite" "$work/root" "$mirror"
    rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
    tar -C "$work/root" -c . |
        "$docker" import --change "ENV PATH=$path" --change 'CMD ["bash"]' - "dfs-debian:$suite"
    rm -rf "$work/root"
fi

# The toolchain's programs and libraries; its documentation stays behind.
sysroot=$(rustc --print sysroot)
mkdir -p "$work/rust"
cp -a "$sysroot/bin" "$sysroot/lib" "$work/rust/"
[ ! -d "$sysroot/libexec" ] || cp -a "$sysroot/libexec" "$work/rust/"
cp "$ca_bundle" "$work/ca-certificates.crt"
cat >"$work/Dockerfile" <<DOCKERFILE
FROM dfs-debian:$suite
RUN apt-get update \\
 && apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
COPY rust /usr/local/rust
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:/usr/local/rust/bin:$path
DOCKERFILE
"$docker" build -t "dfs-rust:$suite" "$work"
echo "made dfs-debian:$suite and dfs-rust:$suite ($(rustc --version))"
