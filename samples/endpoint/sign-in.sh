#!/usr/bin/env bash
# Plays the browser for `flowline token login` against the sample endpoint, whose consent
# is scriptable: opens the authorization URL that `token login` printed, signs in as USER
# and answers the consent screen (approve or deny), then follows the redirect back to
# Flowline's loopback listener — exactly the requests a browser would make.
#
#   samples/endpoint/sign-in.sh [--user NAME] [--deny] AUTHORIZATION_URL
#
# Prints the page Flowline's listener answered with ("Logged in" or "Login failed") as
# text. Needs curl.
set -euo pipefail

user=alice
consent=approve
url=""
while [ $# -gt 0 ]; do
  case "$1" in
    --user) user=$2; shift 2 ;;
    --deny) consent=deny; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "sign-in.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    *) url=$1; shift ;;
  esac
done
[ -n "$url" ] || { echo "sign-in.sh: give the authorization URL that flowline token login printed" >&2; exit 2; }

# The user signs in and decides; the server redirects the browser back to Flowline.
location=$(curl -sS -o /dev/null -w '%{redirect_url}' -G \
  --data-urlencode "login_hint=$user" --data-urlencode "consent=$consent" "$url")
if [ -z "$location" ]; then
  echo "sign-in.sh: the authorization server did not redirect back (unknown user '$user'?)" >&2
  exit 1
fi
# The browser follows the redirect to Flowline's listener, which shows the outcome.
curl -sS "$location" | sed -n 's:.*<h1>\(.*\)</h1>.*:\1:p'
