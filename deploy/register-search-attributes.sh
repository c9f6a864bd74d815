#!/bin/sh
# One-shot job of the compose service temporal-setup: registers the call search attributes (the list
# in src/calls/search-attributes.ts) on the default namespace. Running it again skips existing ones.
set -eu
existing=$(temporal operator search-attribute list --address "$TEMPORAL_ADDRESS")
for name in CallProvider CallStatus CallDirection CallFlow CallQueue CallFrom CallTo; do
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "search attribute $name: already registered"
  else
    temporal operator search-attribute create --name "$name" --type Keyword --address "$TEMPORAL_ADDRESS"
    echo "search attribute $name: registered"
  fi
done
