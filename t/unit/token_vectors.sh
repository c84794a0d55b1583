#!/bin/sh
# Token vectors made by an independent tool, the openssl command line,
# for test_token (which runs this script; it needs nothing but openssl).
#
#   token_vectors.sh gen DIR
#       writes keys into DIR and prints, one per line,
#         key KID ALG FILE            a verification key file
#         vec NAME EXPECT KID TOKEN SUB
#       where EXPECT is ingest_token_reason() of the expected result at
#       now = 1700000000 with no leeway, and SUB the expected "sub" (or -)
#   token_vectors.sh hs256-check HEXKEY INPUT SIG
#   token_vectors.sh eddsa-check PUBFILE INPUT SIG
#       exit 0 when SIG (base64url) is the signature of the file INPUT

set -eu

b64url() {
    openssl base64 -A | tr '+/' '-_' | tr -d '='
}

unb64url() {
    s=$(printf '%s' "$1" | tr -- '-_' '+/')
    case $((${#s} % 4)) in
        2) s="$s==" ;;
        3) s="$s=" ;;
    esac
    printf '%s' "$s" | openssl base64 -d -A
}

# hs KID HEXKEY HEADER PAYLOAD
hs() {
    h=$(printf '%s' "$3" | b64url)
    p=$(printf '%s' "$4" | b64url)
    s=$(printf '%s.%s' "$h" "$p" \
        | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$2" -binary | b64url)
    printf '%s.%s.%s' "$h" "$p" "$s"
}

# ed PRIVFILE HEADER PAYLOAD (pkeyutl -rawin needs a file, not a pipe)
ed() {
    h=$(printf '%s' "$2" | b64url)
    p=$(printf '%s' "$3" | b64url)
    printf '%s.%s' "$h" "$p" > "$dir/input"
    s=$(openssl pkeyutl -sign -rawin -inkey "$1" -in "$dir/input" | b64url)
    printf '%s.%s.%s' "$h" "$p" "$s"
}

hdr() {
    printf '{"alg":"%s","typ":"JWT","kid":"%s"}' "$1" "$2"
}

case ${1:-} in

gen)
    dir=$2
    now=1700000000
    exp=$((now + 3600))
    claims='{"sub":"alice","aud":["upload","hls"],"scope":"/files/alice",'
    claims="$claims\"exp\":$exp,\"iat\":$now,\"max_size\":10737418240,"
    claims="$claims\"types\":[\"video/*\"],\"jti\":\"j-1\"}"
    other="{\"sub\":\"mallory\",\"exp\":$exp}"

    # HS256, key file in the hex: form, signed with -mac HMAC -macopt
    hexkey=$(openssl rand -hex 32)
    printf 'hex:%s\n' "$hexkey" > "$dir/hs.key"
    echo "key ossl-hs HS256 $dir/hs.key"

    t=$(hs ossl-hs "$hexkey" "$(hdr HS256 ossl-hs)" "$claims")
    echo "vec hs-ok ok ossl-hs $t alice"

    tampered=$(printf '%s' "$other" | b64url)
    echo "vec hs-payload bad_signature ossl-hs" \
         "${t%%.*}.$tampered.${t##*.} -"

    t=$(hs ossl-hs "$hexkey" "$(hdr HS256 ossl-hs)" \
        "{\"sub\":\"bob\",\"exp\":$((now - 1))}")
    echo "vec hs-expired expired ossl-hs $t bob"

    t=$(hs ossl-hs "$hexkey" "$(hdr HS256 ossl-hs)" \
        "{\"sub\":\"bob\",\"exp\":$exp,\"nbf\":$((now + 60))}")
    echo "vec hs-nbf not_yet_valid ossl-hs $t bob"

    t=$(hs ossl-hs "$hexkey" "$(hdr HS256 ossl-hs)" \
        "{\"sub\":\"\\u00e9l\\u00e8ve\\ud83c\\udfac\",\"exp\":$exp}")
    echo "vec hs-unicode ok ossl-hs $t élève🎬"

    t=$(hs ossl-hs "$hexkey" "$(hdr HS256 ossl-hs)" \
        "{\"sub\":\"carol\",\"exp\":$exp,\"aud\":\"upload\"}")
    echo "vec hs-wrong-key bad_signature ossl-hs" \
         "$(hs ossl-hs "$(openssl rand -hex 32)" "$(hdr HS256 ossl-hs)" \
            "{\"sub\":\"carol\",\"exp\":$exp}") -"
    echo "vec hs-aud-string ok ossl-hs $t carol"

    # HS256, a raw secret file (echo adds the newline), -hmac STRING
    secret='a raw secret of forty characters, 012345'
    echo "$secret" > "$dir/raw.key"
    echo "key ossl-raw HS256 $dir/raw.key"

    h=$(hdr HS256 ossl-raw | b64url)
    p=$(printf '%s' "$claims" | b64url)
    s=$(printf '%s.%s' "$h" "$p" \
        | openssl dgst -sha256 -hmac "$secret" -binary | b64url)
    echo "vec raw-ok ok ossl-raw $h.$p.$s alice"

    # HS256, key file in the base64: form
    openssl rand 48 > "$dir/b64.bin"
    printf 'base64:%s\n' "$(openssl base64 -A < "$dir/b64.bin")" \
        > "$dir/b64.key"
    echo "key ossl-b64 HS256 $dir/b64.key"
    b64hex=$(od -An -v -tx1 "$dir/b64.bin" | tr -d ' \n')
    t=$(hs ossl-b64 "$b64hex" "$(hdr HS256 ossl-b64)" "$claims")
    echo "vec b64-ok ok ossl-b64 $t alice"

    # EdDSA: genpkey, pkey -pubout, pkeyutl -sign -rawin
    openssl genpkey -algorithm ed25519 -out "$dir/ed.key" 2>/dev/null
    openssl pkey -in "$dir/ed.key" -pubout -out "$dir/ed.pub"
    echo "key ossl-ed EdDSA $dir/ed.pub"

    t=$(ed "$dir/ed.key" "$(hdr EdDSA ossl-ed)" "$claims")
    echo "vec ed-ok ok ossl-ed $t alice"
    echo "vec ed-payload bad_signature ossl-ed" \
         "${t%%.*}.$tampered.${t##*.} -"

    t=$(ed "$dir/ed.key" "$(hdr EdDSA ossl-ed)" \
        "{\"sub\":\"dave\",\"exp\":$((now - 1))}")
    echo "vec ed-expired expired ossl-ed $t dave"

    # an EdDSA signature under an HS256 kid, and the other way round
    t=$(ed "$dir/ed.key" "$(hdr EdDSA ossl-hs)" "$claims")
    echo "vec ed-as-hs alg_mismatch ossl-hs $t -"
    t=$(hs ossl-ed "$hexkey" "$(hdr HS256 ossl-ed)" "$claims")
    echo "vec hs-as-ed alg_mismatch ossl-ed $t -"

    # the classic swap: HS256 keyed with the public key, raw and PEM
    pubhex=$(openssl pkey -pubin -in "$dir/ed.pub" -outform DER \
             | tail -c 32 | od -An -v -tx1 | tr -d ' \n')
    t=$(hs ossl-ed "$pubhex" "$(hdr HS256 ossl-ed)" "$claims")
    echo "vec swap-raw alg_mismatch ossl-ed $t -"
    pemhex=$(od -An -v -tx1 "$dir/ed.pub" | tr -d ' \n')
    t=$(hs ossl-ed "$pemhex" "$(hdr HS256 ossl-ed)" "$claims")
    echo "vec swap-pem alg_mismatch ossl-ed $t -"

    # "none": no signature at all
    h=$(printf '{"alg":"none","kid":"ossl-hs"}' | b64url)
    p=$(printf '%s' "$claims" | b64url)
    echo "vec none alg_mismatch ossl-hs $h.$p. -"
    h=$(printf '{"alg":"none"}' | b64url)
    echo "vec none-nokid bad_header - $h.$p. -"

    t=$(hs nope "$hexkey" "$(hdr HS256 nope)" "$claims")
    echo "vec unknown-kid unknown_kid nope $t -"
    ;;

hs256-check)
    want=$(openssl dgst -sha256 -mac HMAC -macopt "hexkey:$2" -binary < "$3" \
           | b64url)
    [ "$want" = "$4" ]
    ;;

eddsa-check)
    tmp=$(mktemp)
    trap 'rm -f "$tmp"' EXIT
    unb64url "$4" > "$tmp"
    openssl pkeyutl -verify -rawin -pubin -inkey "$2" -in "$3" \
        -sigfile "$tmp" > /dev/null 2>&1
    ;;

*)
    echo "usage: $0 gen DIR | hs256-check HEX IN SIG | eddsa-check PUB IN SIG" >&2
    exit 2
    ;;
esac
