#!/bin/sh
# html_fragments.sh BASE_BIN NEW_BIN [N]: Debian's HTML docs as fragments (the <body> element
# only: no doctype, no <html>, as a web fetch of the page's content returns it), the first N
# (default 40) of `ls /usr/share/doc/*/*.html`, through `headroom compress --stats` of both
# binaries in the same run. Prints estimated tokens before / after for each binary.
base=$1 new=$2 n=${3:-40}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
before=0 after_base=0 after_new=0 pages=0
for f in $(ls /usr/share/doc/*/*.html | head -n "$n"); do
    [ -f "$f" ] || continue
    /usr/bin/python3 - "$f" "$tmp/body.html" <<'PY' || continue
import sys
s = open(sys.argv[1], encoding="latin-1").read()
a = s.lower().find("<body")
e = s.lower().rfind("</body>")
if a < 0:
    sys.exit(1)
open(sys.argv[2], "w", encoding="latin-1").write(s[a:e + 7 if e > a else len(s)] + "\n")
PY
    b=$("$base" compress --format raw --stats --data-dir "$tmp/d1" < "$tmp/body.html" 2>&1 >/dev/null | sed -n 's/.*tokens_before=\([0-9]*\) tokens_after=\([0-9]*\).*/\1 \2/p')
    m=$("$new" compress --format raw --stats --data-dir "$tmp/d2" < "$tmp/body.html" 2>&1 >/dev/null | sed -n 's/.*tokens_before=\([0-9]*\) tokens_after=\([0-9]*\).*/\2/p')
    set -- $b
    before=$((before + $1)) after_base=$((after_base + $2)) after_new=$((after_new + m)) pages=$((pages + 1))
done
echo "pages=$pages tokens_before=$before base_after=$after_base new_after=$after_new"
awk -v b="$before" -v x="$after_base" -v y="$after_new" 'BEGIN { printf "base saved %.1f%%, new saved %.1f%%\n", 100*(b-x)/b, 100*(b-y)/b }'
