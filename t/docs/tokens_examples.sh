#!/bin/bash
# Runs the minting examples of docs/tokens.md (the code blocks whose
# info string has "example=NAME") against fresh keys and verifies every
# token they print with build/ingest-token. Needs openssl, python3 with
# the cryptography package (Debian: python3-cryptography) and node.
#
#   t/docs/tokens_examples.sh [PYTHON]      (default: /usr/bin/python3)

set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cli=$top/build/ingest-token
doc=$top/docs/tokens.md
python=${1:-/usr/bin/python3}

[ -x "$cli" ] || { echo "build $cli first" >&2; exit 2; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

"$cli" genkey --alg HS256 --out upload-2026 2>/dev/null

# the three forms a key file may take (the raw one is another secret:
# random bytes may end in a newline, which a raw file loses)
secret=$(sed -n 's/^hex://p' upload-2026.key)
mv upload-2026.key upload-2026.key.hex
printf 'base64:%s\n' "$(printf '%s' "$secret" | xxd -r -p | openssl base64 -A)" \
    > upload-2026.key.base64
printf '%s\n' "$secret" > upload-2026.key.raw    # 64 ASCII bytes, newline
"$cli" genkey --alg EdDSA --out upload-ed-2026 2>/dev/null

# NAME LANG per block, the block into NAME.src
awk '
    /^```[a-z]+ example=/ {
        split($0, a, /[` =]+/); lang = a[2]; name = a[4];
        file = name ".src"; print name, lang; next
    }
    /^```/ { file = ""; next }
    file != "" { print > file }
' "$doc" > examples.list

count=0
failed=0

while read -r name lang; do
    case $lang in
        sh) run=(sh "$name.src") ;;
        python) run=("$python" "$name.src") ;;
        js) run=(node "$name.src") ;;
        *) echo "$name: unknown language $lang"; failed=$((failed + 1)); continue ;;
    esac

    case $name in
        *eddsa*) kid=upload-ed-2026; alg=EdDSA; key=upload-ed-2026.pub ;;
        *) kid=upload-2026; alg=HS256; key=upload-2026.key ;;
    esac

    # the HS256 examples that read key files: every form of the file

    forms=hex
    case $name in
        python-hs256|node-hs256) forms="hex base64 raw" ;;
    esac

    for form in $forms; do
        cp "upload-2026.key.$form" upload-2026.key
        count=$((count + 1))

        case $name in
            *hs256*) label="$name ($form key)" ;;
            *) label=$name ;;
        esac

        if ! token=$("${run[@]}" | tail -n 1); then
            echo "FAIL $label: the example failed"
            failed=$((failed + 1))
            continue
        fi

        if out=$("$cli" verify --kid "$kid" --alg "$alg" --key "$key" \
                     --aud upload --path /files/0123abcd "$token" 2>&1); then
            echo "ok $label: $out"
        else
            echo "FAIL $label: $out"
            failed=$((failed + 1))
        fi
    done
done < examples.list

echo "$((count - failed)) passed, $failed failed"
[ "$count" -ge 10 ] && [ "$failed" -eq 0 ]
