#!/bin/bash
# Builds the Debian package build/anycastd_<version>_<arch>.deb from a built tree (`make all`), with
# dpkg-deb; run by `make deb`. What goes in, and where:
#   /usr/lib/anycastd/    package.json (the version, and how the program finds its root), dist/ (the
#                         built JS, no source maps), the production node_modules (`npm ls --omit=dev`,
#                         minus node-addon-api: build-time headers only), the addon (stripped) and
#                         build/bpf/steer.bpf.o — the same relative layout as a checkout, so
#                         projectRoot() finds them; no lab/, bench/, model/, test/ (the harness stays in
#                         the tree: `demo` and `bench` refuse without it)
#   /usr/bin/anycastd     a sh wrapper: exec node on dist/src/cli/main.js
#   /lib/systemd/system/anycastd.service, /usr/lib/sysusers.d/anycastd.conf, the man page, bash
#   completion, /etc/anycastd/anycastd.yaml (the example, a conffile: dpkg keeps an edited one)
# Depends: nodejs (>= 20) and what dpkg-shlibdeps finds for the addon (libbpf, libelf, zlib, libstdc++).
# Lintian's remaining tags are explained in packaging/deb/lintian-overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-build}
VERSION=$(node -p "require('./package.json').version")
ARCH=$(dpkg --print-architecture)
NAME=anycastd
STAGE=$OUT/deb-stage
PKG=$STAGE/root
LIB=$PKG/usr/lib/$NAME
DEB=$OUT/${NAME}_${VERSION}_${ARCH}.deb
# Maintainer and date of the changelog entry: the last commit's (reproducible for one commit).
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
MAINTAINER=${DEB_MAINTAINER:-anycastd maintainers <anycastd@example.org>}

for f in dist/src/cli/main.js native/build/Release/anycastd.node build/bpf/steer.bpf.o; do
  [[ -f $f ]] || { echo "build-deb: $f missing; run \`make all\` first" >&2; exit 2; }
done

rm -rf "$STAGE"
install -d "$LIB/native/build/Release" "$LIB/build/bpf" "$LIB/node_modules" "$PKG/usr/bin" \
  "$PKG/lib/systemd/system" "$PKG/usr/lib/sysusers.d" "$PKG/usr/share/man/man8" \
  "$PKG/usr/share/bash-completion/completions" "$PKG/usr/share/doc/$NAME" \
  "$PKG/usr/share/lintian/overrides" "$PKG/etc/$NAME" "$PKG/DEBIAN"

# The program: package.json (version, "type": "module") and dist/ without source maps.
node -e '
  const p = require("./package.json");
  const keep = { name: p.name, version: p.version, description: p.description, license: p.license,
    private: true, type: p.type, engines: p.engines, dependencies: p.dependencies };
  delete keep.dependencies["node-addon-api"];
  process.stdout.write(JSON.stringify(keep, null, 2) + "\n");' > "$LIB/package.json"
mkdir -p "$LIB/dist"
(cd dist && find src -type f -name '*.js' -print0 | tar --null -T - -cf -) | tar -xf - -C "$LIB/dist"
install -m 644 native/build/Release/anycastd.node "$LIB/native/build/Release/anycastd.node"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$LIB/native/build/Release/anycastd.node"
# The BPF object keeps its BTF (libbpf needs it for the maps' layout); only DWARF goes.
llvm-strip --strip-debug -o "$LIB/build/bpf/steer.bpf.o" build/bpf/steer.bpf.o
chmod 644 "$LIB/build/bpf/steer.bpf.o"

# Production node_modules: every package `npm ls --omit=dev` lists, without docs, typings, maps, tests.
MODULES=$(npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 | sed "s|^$ROOT/||" | grep -v '/node-addon-api$' | sort -u)
for dir in $MODULES; do
  find "$dir" -path "$dir/node_modules" -prune -o -type f -print0 | tar --null -T - -cf - | tar -xf - -C "$LIB"
done
find "$LIB/node_modules" -type f \( -name '*.md' -o -name '*.markdown' -o -name '*.d.ts' -o -name '*.d.mts' \
  -o -name '*.d.cts' -o -name '*.map' -o -name '*.ts' -o -name '.*' -o -iname 'LICEN[CS]E*' -o -name '*.html' \
  -o -name 'CHANGELOG*' -o -name 'Makefile' -o -name '*.yml' -o -name '*.sh' \) -delete
find "$LIB/node_modules" -type d \( -name test -o -name tests -o -name benchmarks -o -name example -o -name examples \
  -o -name docs -o -name '.?*' \) -prune -exec rm -rf {} +
# Modules are loaded, never run: no file under /usr/lib/anycastd is executable or a script (the
# modules' own command lines go; main.js loses its #! line: /usr/bin/anycastd runs it with node).
rm -f "$LIB/node_modules/pino/bin.js" "$LIB/node_modules/yaml/bin.mjs"
sed -i '1{/^#!/d}' "$LIB/dist/src/cli/main.js"
find "$LIB" -type f -exec chmod 644 {} +
find "$LIB/node_modules" -type d -empty -delete

# /usr/bin/anycastd
printf '#!/bin/sh\n# anycastd(8): the agent and its command line (Node.js, /usr/lib/anycastd).\nexec /usr/bin/node /usr/lib/anycastd/dist/src/cli/main.js "$@"\n' > "$PKG/usr/bin/$NAME"
chmod 755 "$PKG/usr/bin/$NAME"

install -m 644 packaging/anycastd.service "$PKG/lib/systemd/system/anycastd.service"
install -m 644 packaging/anycastd.sysusers "$PKG/usr/lib/sysusers.d/anycastd.conf"
gzip -9n < man/anycastd.8 > "$PKG/usr/share/man/man8/anycastd.8.gz"
install -m 644 completions/anycastd.bash "$PKG/usr/share/bash-completion/completions/$NAME"
install -m 640 examples/anycastd.yaml "$PKG/etc/$NAME/anycastd.yaml"
install -m 644 packaging/deb/lintian-overrides "$PKG/usr/share/lintian/overrides/$NAME"

# copyright (machine-readable): ours, then each bundled module with its own license file's text.
YEAR=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
{
  printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: anycastd\n\n'
  printf 'Files: *\nCopyright: %s the anycastd authors\nLicense: Apache-2.0\n On Debian systems the full text of the Apache License 2.0 is in\n /usr/share/common-licenses/Apache-2.0.\n' "$YEAR"
  for dir in $MODULES; do
    node -e '
      const { readdirSync, readFileSync } = require("node:fs");
      const [dir, root] = process.argv.slice(1);
      const p = require(`${root}/${dir}/package.json`);
      const lic = typeof p.license === "string" ? p.license : "other";
      const file = readdirSync(`${root}/${dir}`).find((f) => /^licen[cs]e/i.test(f));
      const text = file ? readFileSync(`${root}/${dir}/${file}`, "utf8") : `See ${p.name} ${p.version}.`;
      const common = { "Apache-2.0": "/usr/share/common-licenses/Apache-2.0" }[lic];
      const held = text.match(/^.*copyright.*(?:\d{4}|\(c\)|©).*$/im)?.[0].trim() ?? `the authors of ${p.name}`;
      const body = common ? ` On Debian systems the full text of the ${lic} license is in\n ${common}.` : text.trim().split("\n").map((l) => (l.trim() === "" ? " ." : ` ${l}`)).join("\n");
      process.stdout.write(`\nFiles: usr/lib/anycastd/${dir}/*\nCopyright: ${held}\nLicense: ${lic}\n${body}\n`);' \
      "$dir" "$ROOT"
  done
} > "$PKG/usr/share/doc/$NAME/copyright"
{
  printf '%s (%s) unstable; urgency=medium\n\n  * Release %s (package.json).\n\n -- %s  %s\n' \
    "$NAME" "$VERSION" "$VERSION" "$MAINTAINER" "$(date -R -u -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$PKG/usr/share/doc/$NAME/changelog.gz"

# Maintainer scripts and control.
install -m 755 packaging/deb/postinst "$PKG/DEBIAN/postinst"
install -m 755 packaging/deb/postrm "$PKG/DEBIAN/postrm"
echo "/etc/$NAME/anycastd.yaml" > "$PKG/DEBIAN/conffiles"
# dpkg-shlibdeps wants a debian/control of a source package; give it a throwaway one.
mkdir -p "$STAGE/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$NAME" "$NAME" > "$STAGE/debian/control"
SHLIBS=$(cd "$STAGE" && dpkg-shlibdeps -O "root/usr/lib/$NAME/native/build/Release/anycastd.node" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
INSTALLED_KB=$(du -sk --apparent-size --exclude=DEBIAN "$PKG" | cut -f1)
cat > "$PKG/DEBIAN/control" <<CONTROL
Package: $NAME
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $INSTALLED_KB
Depends: nodejs (>= 20), $SHLIBS
Suggests: bash-completion
Section: net
Priority: optional
Description: anycast load-balancer agent: BGP, health checks, XDP steering
 anycastd runs on every server of an anycast service: it health-checks the
 local instances, advertises the service addresses (VIPs) to the top-of-rack
 routers over BGP while they are healthy, and steers each flow with an XDP
 program and Maglev consistent hashing so that a change of the route set
 keeps established connections on their host.
CONTROL

find "$PKG" -type d -exec chmod 755 {} +
find "$PKG" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
