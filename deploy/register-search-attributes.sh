#!/bin/sh
# One-shot job of the compose service temporal-setup: registers the call search attributes (the list
# in src/calls/search-attributes.ts, as Name:Type) on the default namespace. Running it again skips existing ones.
set -eu
existing=$(temporal operator search-attribute list --address "$TEMPORAL_ADDRESS")
for attribute in CallProvider:Keyword CallStatus:Keyword CallDirection:Keyword CallFlow:Keyword CallQueue:Keyword \
  CallFrom:Keyword CallTo:Keyword CallOutcome:Keyword CallTalkSeconds:Int CallAnswerSeconds:Int CallAgent:Keyword; do
  name=${attribute%%:*}
  type=${attribute#*:}
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "search attribute $name: already registered"
  else
    temporal operator search-attribute create --name "$name" --type "$type" --address "$TEMPORAL_ADDRESS"
    echo "search attribute $name: registered"
  fi
done
