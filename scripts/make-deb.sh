#!/bin/sh
# make-deb.sh: builds dist/xtreamd_<version>_<arch>.deb from a built binary
# with dpkg-deb (a staged tree, no debhelper run): the binary (stripped), the
# systemd unit, /etc/xtreamd/xtreamd.conf (a conffile), a man page made by
# help2man from the help texts, the docs, the panel's files (web/dist) when
# present, the maintainer scripts of packaging/debian/.
#
# Environment: XTREAMD_DEB_BIN (default build/xtreamd: `make release`),
# XTREAMD_DEB_OUT (default dist), XTREAMD_DEB_WEB (the panel's built files,
# default web/dist). Prints the .deb's path on the last line.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${XTREAMD_DEB_BIN:-$top/build/xtreamd}
out=${XTREAMD_DEB_OUT:-$top/dist}
web=${XTREAMD_DEB_WEB:-$top/web/dist}
pkg=xtreamd

[ -x "$bin" ] || { echo "make-deb: no binary at $bin (run make release)" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps help2man gzip strip; do
	command -v "$tool" >/dev/null || { echo "make-deb: $tool is missing (scripts/install-deps.sh test)" >&2; exit 1; }
done

# A sanitizer build must not print leak reports into the man page.
export ASAN_OPTIONS=detect_leaks=0
version=$("$bin" version | sed -n 's/^xtreamd //p')
[ -n "$version" ] || { echo "make-deb: $bin version printed no version" >&2; exit 1; }
arch=$(dpkg --print-architecture)
# Reproducible: every timestamp is the last commit's (or now outside git).
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

stage=$(mktemp -d "${TMPDIR:-/tmp}/xtreamd-deb-XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
doc=$root/usr/share/doc/$pkg
umask 022
mkdir -p "$root/DEBIAN" "$doc" "$root/usr/share/man/man1"

install -D -m 0755 "$bin" "$root/usr/bin/xtreamd"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/xtreamd"
install -D -m 0644 "$top/packaging/xtreamd.service" "$root/lib/systemd/system/xtreamd.service"
install -D -m 0644 "$top/packaging/xtreamd.conf" "$root/etc/xtreamd/xtreamd.conf"

# The man page: the command list from `xtreamd --help`, serve's settings
# from `xtreamd serve --help` (the options table) as a section of its own.
{
	printf '[SERVE OPTIONS]\n.nf\n'
	"$bin" serve --help | sed -e 's/\\/\\\\/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
	printf '.fi\n\n[FILES]\n.TP\n/etc/xtreamd/xtreamd.conf\nthe settings of xtreamd serve (a conffile)\n'
	printf '.TP\n/var/lib/xtreamd\nthe data folder of the service: the database, serve.json\n'
	printf '.TP\n/lib/systemd/system/xtreamd.service\nthe systemd unit\n\n'
	printf '[SEE ALSO]\n/usr/share/doc/xtreamd/operator-guide.md.gz, /usr/share/doc/xtreamd/cli.md.gz\n'
} >"$stage/man.include"
# help2man needs two spaces between a command and its text: the command
# column of `xtreamd --help` is 12 wide, so "connections live ..." gets one.
cat >"$stage/xtreamd-help" <<WRAP
#!/bin/sh
if [ "\$1" = --help ]; then
	"$bin" --help | sed -E '/^commands:/,/^\$/s/^(  [a-z].{10}) /\1  /'
else
	exec "$bin" "\$@"
fi
WRAP
chmod 755 "$stage/xtreamd-help"
help2man -N -s 1 -n "IPTV server speaking the Xtream Codes API" --version-string="$version" \
	--name="IPTV server speaking the Xtream Codes API" \
	-i "$stage/man.include" -o "$stage/xtreamd.1" "$stage/xtreamd-help"
sed -i 's/XTREAMD-HELP/XTREAMD/g; s/xtreamd-help/xtreamd/g' "$stage/xtreamd.1"
gzip -9n -c "$stage/xtreamd.1" >"$root/usr/share/man/man1/xtreamd.1.gz"

# Docs: compressed above 4 kB (Debian policy 12.3); the copyright file never.
install -m 0644 "$top/packaging/debian/copyright" "$doc/copyright"
for f in README.md docs/operator-guide.md docs/configuration.md docs/cli.md docs/api.md \
	docs/admin-api.md; do
	[ -f "$top/$f" ] || continue
	name=$(basename "$f")
	if [ "$(wc -c <"$top/$f")" -gt 4096 ]; then
		gzip -9n -c "$top/$f" >"$doc/$name.gz"
	else
		install -m 0644 "$top/$f" "$doc/$name"
	fi
done
date_rfc=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
cat >"$stage/changelog" <<CHANGELOG
$pkg ($version) unstable; urgency=medium

  * Package built from the source tree by make deb (scripts/make-deb.sh).

 -- xtreamd maintainers <maintainers@xtreamd.invalid>  $date_rfc
CHANGELOG
gzip -9n -c "$stage/changelog" >"$doc/changelog.gz"

# The panel's files, when the panel is built.
if [ -d "$web" ]; then
	mkdir -p "$root/usr/share/xtreamd/web"
	cp -R "$web/." "$root/usr/share/xtreamd/web/"
	find "$root/usr/share/xtreamd" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
fi

# Control: the shared-library dependencies from the binary.
mkdir -p "$stage/src/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" >"$stage/src/debian/control"
shlibs=$(cd "$stage/src" && dpkg-shlibdeps -O -e "$root/usr/bin/xtreamd" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: xtreamd maintainers <maintainers@xtreamd.invalid>
Installed-Size: $installed_size
Depends: adduser, $shlibs
Recommends: ffmpeg
Section: video
Priority: optional
Homepage: https://xtreamd.invalid/
Description: IPTV server speaking the Xtream Codes API
 xtreamd delivers live channels (MPEG-TS and HLS), movies and series with a
 programme guide to the players that speak the Xtream Codes API (TiviMate,
 IPTV Smarters, Kodi, VLC, MAG set-top boxes). One program with an embedded
 SQLite database, an admin REST API and the Prometheus metrics.
 .
 The package runs it as the systemd service xtreamd (user xtreamd, data in
 /var/lib/xtreamd, settings in /etc/xtreamd/xtreamd.conf).
CONTROL
echo /etc/xtreamd/xtreamd.conf >"$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 "$top/packaging/debian/$s" "$root/DEBIAN/$s"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort |
	xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
find "$root" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb=$out/${pkg}_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
