#!/bin/bash
# Builds the Debian packages from what `make modules worker` built, with
# dpkg-deb on staged trees (no debian/ source package, no network):
#
#   libnginx-mod-http-ingest   build/nginx/ngx_http_ingest_module.so
#   libnginx-mod-srt-ingest    build/nginx/ngx_srt_module.so (when it exists)
#   ingest-worker              ffmpeg-worker/build/ingest-worker
#
#   packaging/build-debs.sh            # -> build/deb/*.deb (make deb)
#
# Environment: DEB_OUT (output directory, default build/deb), DEB_VERSION
# (default: VERSION, plus +git<commit time>.<hash> unless HEAD is tagged
# v<VERSION>), DEB_MAINTAINER, DEB_WORKER_USER (the worker's user: www-data,
# nginx's user, by default; another name makes postinst create it as a
# system user in group www-data, which needs nginx to write spool jobs
# group-writable: see docs/operations.md, "Debian packages"). The module packages depend on the nginx ABI
# that the installed nginx provides (nginx-abi-<version>), which is the
# one the modules were compiled against (nginx-dev of the same version).

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKG=$ROOT/packaging
OUT=${DEB_OUT:-$ROOT/build/deb}
MAINTAINER=${DEB_MAINTAINER:-nginx video ingest developers <ingest@localhost>}
ARCH=$(dpkg --print-architecture)
HTTP_SO=$ROOT/build/nginx/ngx_http_ingest_module.so
SRT_SO=$ROOT/build/nginx/ngx_srt_module.so
WORKER=$ROOT/ffmpeg-worker/build/ingest-worker
WORKER_USER=${DEB_WORKER_USER:-www-data}

die() { echo "build-debs: $*" >&2; exit 1; }
say() { echo "build-debs: $*"; }

for tool in dpkg-deb dpkg-shlibdeps dpkg-query strip gzip; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt install dpkg-dev binutils)"
done

# --- version -----------------------------------------------------------------

version() {
    local base hash when
    if [ -n "${DEB_VERSION:-}" ]; then
        echo "$DEB_VERSION"
        return
    fi
    base=$(tr -d ' \n' < "$ROOT/VERSION")
    if git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null 2>&1; then
        if [ "$(git -C "$ROOT" describe --tags --exact-match 2>/dev/null)" = "v$base" ]; then
            echo "$base"
            return
        fi
        hash=$(git -C "$ROOT" rev-parse --short=7 HEAD)
        when=$(TZ=UTC git -C "$ROOT" log -1 --format=%cd \
                   --date=format-local:%Y%m%d%H%M%S HEAD)
        echo "$base+git$when.$hash"
    else
        echo "$base"
    fi
}

VERSION=$(version)
[[ $VERSION =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "bad version \"$VERSION\""
[[ $WORKER_USER =~ ^[a-z_][a-z0-9_-]*$ ]] || die "bad user name \"$WORKER_USER\""

# the date of the changelog entry: the commit's, so builds are repeatable
if git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    EPOCH=$(git -C "$ROOT" log -1 --format=%ct HEAD)
    COMMIT=$(git -C "$ROOT" rev-parse --short=7 HEAD)
else
    EPOCH=$(date +%s)
    COMMIT=unknown
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$EPOCH}

# --- the nginx ABI -----------------------------------------------------------

nginx_abi() {
    local provides dev nginx
    provides=$(dpkg-query -W -f='${Provides}' nginx 2>/dev/null) \
        || die "Debian's nginx package is not installed"
    abi=$(tr ',' '\n' <<< "$provides" | sed -n 's/^ *\(nginx-abi-[^ ]*\).*/\1/p' | head -1)
    [ -n "$abi" ] || die "nginx does not provide an nginx-abi-* (Provides: $provides)"
    nginx=$(dpkg-query -W -f='${Version}' nginx)
    dev=$(dpkg-query -W -f='${Version}' nginx-dev 2>/dev/null || true)
    if [ -n "$dev" ] && [ "$dev" != "$nginx" ]; then
        die "nginx-dev $dev (the modules' headers) is not nginx $nginx"
    fi
    echo "$abi"
}

ABI=$(nginx_abi)

# --- helpers -----------------------------------------------------------------

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# shlibs:Depends of the ELF files given, by dpkg-shlibdeps
shlib_depends() {
    local pkg=$1; shift
    mkdir -p "$WORK/shlibs/debian"
    printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" \
        > "$WORK/shlibs/debian/control"
    (cd "$WORK/shlibs" && dpkg-shlibdeps -O "${@/#/-e}" 2>/dev/null) \
        | sed -n 's/^shlibs:Depends=//p'
}

# stage <package>: a fresh tree
stage() {
    local d=$WORK/stage/$1
    rm -rf "$d"
    mkdir -p "$d/DEBIAN"
    echo "$d"
}

install_file() {        # mode src dst
    install -D -m "$1" "$2" "$3"
}

install_elf() {         # src dst
    install -D -m 0755 "$1" "$2"
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$2"
}

docs() {                # tree package
    local d=$1/usr/share/doc/$2
    mkdir -p "$d"
    install -m 0644 "$PKG/copyright" "$d/copyright"
    {
        echo "$2 ($VERSION) unstable; urgency=medium"
        echo
        echo "  * Built from commit $COMMIT by packaging/build-debs.sh."
        echo
        echo " -- $MAINTAINER  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
    } | gzip -9n > "$d/changelog.Debian.gz"
    chmod 0644 "$d/changelog.Debian.gz"
}

maintscripts() {        # tree dir [sed args...]
    local tree=$1 dir=$2 s
    shift 2
    for s in postinst prerm postrm; do
        [ -f "$dir/$s" ] || continue
        sed "$@" "$dir/$s" > "$tree/DEBIAN/$s"
        chmod 0755 "$tree/DEBIAN/$s"
    done
}

build() {               # tree package depends recommends section description...
    local tree=$1 pkg=$2 depends=$3 recommends=$4 section=$5
    shift 5
    local size deb
    find "$tree" -path "$tree/DEBIAN" -prune -o -type f -print0 \
        | sort -z | (cd "$tree" && xargs -0r md5sum | sed "s|$tree/||") \
        > "$tree/DEBIAN/md5sums"
    chmod 0644 "$tree/DEBIAN/md5sums"
    size=$(du -sk --exclude=DEBIAN "$tree" | cut -f1)
    {
        echo "Package: $pkg"
        echo "Version: $VERSION"
        echo "Architecture: $ARCH"
        echo "Maintainer: $MAINTAINER"
        echo "Installed-Size: $size"
        echo "Depends: $depends"
        [ -n "$recommends" ] && echo "Recommends: $recommends"
        echo "Section: $section"
        echo "Priority: optional"
        echo "Description: $1"
        shift
        for line in "$@"; do
            if [ -z "$line" ]; then echo " ."; else echo " $line"; fi
        done
    } > "$tree/DEBIAN/control"
    find "$tree" -type d -exec chmod 0755 {} +
    deb=$OUT/${pkg}_${VERSION}_${ARCH}.deb
    dpkg-deb --root-owner-group -Zxz --build "$tree" "$deb" >/dev/null
    say "$deb"
    dpkg-deb -f "$deb" Package Version Depends | sed 's/^/    /'
}

mkdir -p "$OUT"
rm -f "$OUT"/*.deb

# --- the nginx modules -------------------------------------------------------

nginx_module_pkg() {    # so package conf-name description...
    local so=$1 pkg=$2 conf=$3
    shift 3
    local t name prio confpair depends extra_dep="" recommends="nginx"
    t=$(stage "$pkg")
    name=$(basename "$so")
    install_elf "$so" "$t/usr/lib/nginx/modules/$name"

    # a module that uses another module's symbols loads after it (as
    # Debian's stream-geoip: 70-) and depends on its package: the stream
    # module, or the HTTP ingest module (the SRT module counts into its
    # metrics zone through weak references, bound when it is loaded)
    prio=50
    if nm -D --undefined-only "$so" | grep -qw ngx_stream_module; then
        prio=70
        extra_dep=", libnginx-mod-stream"
    fi
    if [ "$so" != "$HTTP_SO" ] && [ -n "$(comm -12 \
            <(nm -D --undefined-only "$so" \
                  | awk '$1 == "U" || $1 == "w" {print $2}' | sort -u) \
            <(nm -D --defined-only "$HTTP_SO" | awk '{print $3}' | sort -u))" ]
    then
        prio=70
        extra_dep="$extra_dep, libnginx-mod-http-ingest (= $VERSION)"
    fi
    confpair="$conf.conf:$prio-$conf.conf"
    mkdir -p "$t/usr/share/nginx/modules-available"
    echo "load_module modules/$name;" \
        > "$t/usr/share/nginx/modules-available/$conf.conf"
    chmod 0644 "$t/usr/share/nginx/modules-available/$conf.conf"

    docs "$t" "$pkg"
    maintscripts "$t" "$PKG/nginx-module" \
        -e "s|@PACKAGE@|$pkg|g" -e "s|@CONFPAIR@|$confpair|g"

    depends="$ABI"
    local libs
    libs=$(shlib_depends "$pkg" "$t/usr/lib/nginx/modules/$name")
    [ -n "$libs" ] && depends="$depends, $libs"
    depends="$depends$extra_dep"

    NGX_TREE=$t NGX_DEPENDS=$depends NGX_RECOMMENDS=$recommends
}

[ -f "$HTTP_SO" ] || die "$HTTP_SO is missing (make modules)"

nginx_module_pkg "$HTTP_SO" libnginx-mod-http-ingest mod-http-ingest >/dev/null
t=$NGX_TREE
ex=$t/usr/share/doc/libnginx-mod-http-ingest/examples
for f in "$ROOT"/conf-examples/*.conf; do
    install_file 0644 "$f" "$ex/$(basename "$f")"
done
for f in ingest-alerts.yml ingest-alerts.test.yml prometheus.example.yml; do
    install_file 0644 "$ROOT/ops/prometheus/$f" "$ex/prometheus/$f"
done
install_file 0644 "$ROOT/ops/grafana/ingest-dashboard.json" \
    "$ex/grafana/ingest-dashboard.json"
install_file 0644 "$ROOT/README.md" "$t/usr/share/doc/libnginx-mod-http-ingest/README.md"
for f in "$ROOT"/docs/*.md; do
    install_file 0644 "$f" "$t/usr/share/doc/libnginx-mod-http-ingest/docs/$(basename "$f")"
done
build "$t" libnginx-mod-http-ingest "$NGX_DEPENDS" "$NGX_RECOMMENDS" httpd \
    "video ingest for nginx: tus, S3 multipart, LL-HLS origin, metrics" \
    "A dynamic module for Debian's nginx: resumable tus 1.0.0 uploads and" \
    "an S3-compatible multipart API with signed tokens, quotas and content" \
    "sniffing; finished uploads become jobs in a spool directory for" \
    "ingest-worker; an LL-HLS origin (blocking playlist reloads, delta" \
    "updates, preload hints); Prometheus metrics." \
    "" \
    "The package enables the module in /etc/nginx/modules-enabled; the" \
    "locations are configured by hand (examples in the documentation)."

if [ -f "$SRT_SO" ]; then
    nginx_module_pkg "$SRT_SO" libnginx-mod-srt-ingest mod-srt-ingest >/dev/null
    build "$NGX_TREE" libnginx-mod-srt-ingest "$NGX_DEPENDS" "$NGX_RECOMMENDS" httpd \
        "SRT ingest for nginx, with tokens and relay" \
        "A dynamic module for Debian's nginx: an SRT listener for live" \
        "publishers (token in the streamid, AES), relayed to RTMP and to" \
        "ingest-worker's live input."
else
    say "skipping libnginx-mod-srt-ingest: $SRT_SO does not exist (the SRT module is not built)"
fi

# --- ingest-worker -----------------------------------------------------------

[ -x "$WORKER" ] || die "$WORKER is missing (make worker)"

t=$(stage ingest-worker)
install_elf "$WORKER" "$t/usr/sbin/ingest-worker"
mkdir -p "$t/usr/share/man/man8"
gzip -9n < "$ROOT/ffmpeg-worker/ingest-worker.8" > "$t/usr/share/man/man8/ingest-worker.8.gz"
chmod 0644 "$t/usr/share/man/man8/ingest-worker.8.gz"

# the unit of the tree, with the package's configuration path and user
mkdir -p "$t/lib/systemd/system"
sed -e 's|/etc/ingest-worker\.conf|/etc/ingest-worker/ingest-worker.conf|g' \
    -e "s|^User=www-data\$|User=$WORKER_USER|" \
    "$ROOT/ffmpeg-worker/ingest-worker.service" \
    > "$t/lib/systemd/system/ingest-worker.service"
grep -q "^User=$WORKER_USER\$" "$t/lib/systemd/system/ingest-worker.service" \
    && grep -q '^Group=www-data$' "$t/lib/systemd/system/ingest-worker.service" \
    && grep -q -- '-c /etc/ingest-worker/ingest-worker.conf' "$t/lib/systemd/system/ingest-worker.service" \
    || die "ffmpeg-worker/ingest-worker.service changed: update the sed in $0"
chmod 0644 "$t/lib/systemd/system/ingest-worker.service"

mkdir -p "$t/etc/init.d"
sed "s|@WORKER_USER@|$WORKER_USER|g" "$PKG/ingest-worker/ingest-worker.init" \
    > "$t/etc/init.d/ingest-worker"
chmod 0755 "$t/etc/init.d/ingest-worker"
install_file 0755 "$PKG/ingest-worker/supervise" "$t/usr/libexec/ingest-worker/supervise"

# the default configuration: the annotated example, with metrics every
# 10 s (the queue-depth alert's 30 s need fresh numbers)
mkdir -p "$t/etc/ingest-worker"
sed -e 's|^reclaim_interval [^;]*;|reclaim_interval 10s;|' \
    "$ROOT/ffmpeg-worker/ingest-worker.conf" > "$t/etc/ingest-worker/ingest-worker.conf"
grep -q '^reclaim_interval 10s;' "$t/etc/ingest-worker/ingest-worker.conf" \
    || die "ffmpeg-worker/ingest-worker.conf changed: update the sed in $0"
chmod 0644 "$t/etc/ingest-worker/ingest-worker.conf"
"$WORKER" -t -c "$t/etc/ingest-worker/ingest-worker.conf" >/dev/null 2>&1 \
    || die "the packaged configuration does not pass ingest-worker -t"

printf '%s\n' /etc/ingest-worker/ingest-worker.conf /etc/init.d/ingest-worker \
    > "$t/DEBIAN/conffiles"
chmod 0644 "$t/DEBIAN/conffiles"

docs "$t" ingest-worker
install_file 0644 "$ROOT/ffmpeg-worker/README.md" "$t/usr/share/doc/ingest-worker/README.md"
install_file 0644 "$ROOT/docs/worker.md" "$t/usr/share/doc/ingest-worker/worker.md"
install_file 0644 "$ROOT/ffmpeg-worker/ingest-worker.conf" \
    "$t/usr/share/doc/ingest-worker/examples/ingest-worker.conf"
maintscripts "$t" "$PKG/ingest-worker" -e "s|@WORKER_USER@|$WORKER_USER|g"

depends=$(shlib_depends ingest-worker "$t/usr/sbin/ingest-worker")
build "$t" ingest-worker "${depends:+$depends, }adduser" \
    "libnginx-mod-http-ingest" video \
    "transcode worker for the nginx video ingest module" \
    "A daemon that takes the jobs the nginx ingest module spools when an" \
    "upload completes and turns each source into adaptive-bitrate HLS" \
    "(CMAF segments, an x264 ladder) with FFmpeg's libraries; it also" \
    "packages live MPEG-TS as LL-HLS. Crash-safe spool or Redis Streams" \
    "queue, signed webhooks, Prometheus metrics." \
    "" \
    "It runs as $WORKER_USER (group www-data, nginx's), with systemd or" \
    "/etc/init.d/ingest-worker; the package creates /var/spool/nginx-ingest" \
    "and /var/lib/nginx-ingest for nginx and the worker."
