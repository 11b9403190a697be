#!/usr/bin/env bash
# Gets a token for one sample user from the sample endpoint the way an OAuth client does:
# authorization code + PKCE (S256) with the endpoint's scripted consent, then the code
# exchange. Prints the token response (RFC 6749 §5.1 JSON) on stdout, ready for
# `flowline token import acme_personal --user alice --file -`.
#
#   samples/endpoint/get-token.sh [--base URL] [--user NAME] [--client-id ID] [--scope "A B"]
#
# The client secret comes from $ACME_CLIENT_SECRET (default "sample-secret", as the endpoint's).
# Needs curl and openssl.
set -euo pipefail

base=http://127.0.0.1:8765
user=alice
client_id=flow-basic
scope="openid offline_access incidents.read"
secret=${ACME_CLIENT_SECRET:-sample-secret}
# Nothing listens here: the script reads the redirect's Location header instead of following it.
redirect_uri=http://127.0.0.1:53682/callback

while [ $# -gt 0 ]; do
  case "$1" in
    --base) base=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    --client-id) client_id=$2; shift 2 ;;
    --scope) scope=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "get-token.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

base64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
# The value of one parameter in a URL's query (codes and states here need no decoding).
query_param() { printf '%s' "$1" | sed -n "s/.*[?&]$2=\([^&]*\).*/\1/p"; }

verifier=$(openssl rand 32 | base64url)
challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | base64url)
state=$(openssl rand -hex 16)

location=$(curl -sS -o /dev/null -w '%{redirect_url}' -G "$base/oauth/authorize" \
  --data-urlencode response_type=code --data-urlencode "client_id=$client_id" \
  --data-urlencode "redirect_uri=$redirect_uri" --data-urlencode "scope=$scope" \
  --data-urlencode "state=$state" --data-urlencode "code_challenge=$challenge" \
  --data-urlencode code_challenge_method=S256 --data-urlencode "login_hint=$user")
if [ -z "$location" ]; then
  echo "get-token.sh: $base/oauth/authorize did not redirect (unknown user '$user'?)" >&2
  exit 1
fi
if [ -n "$(query_param "$location" error)" ]; then
  echo "get-token.sh: authorization failed: $(query_param "$location" error)" >&2
  exit 1
fi
if [ "$(query_param "$location" state)" != "$state" ]; then
  echo "get-token.sh: the authorization response carries the wrong state" >&2
  exit 1
fi
code=$(query_param "$location" code)

response=$(mktemp)
trap 'rm -f "$response"' EXIT
status=$(curl -sS -o "$response" -w '%{http_code}' "$base/oauth/token" \
  --data-urlencode grant_type=authorization_code --data-urlencode "code=$code" \
  --data-urlencode "redirect_uri=$redirect_uri" --data-urlencode "code_verifier=$verifier" \
  --data-urlencode "client_id=$client_id" --data-urlencode "client_secret=$secret")
if [ "$status" != 200 ]; then
  echo "get-token.sh: token request failed with HTTP $status: $(cat "$response")" >&2
  exit 1
fi
cat "$response"
echo
