#!/bin/sh
# One-shot job of the compose service temporal-setup (image temporalio/admin-tools): waits for the Temporal
# server, creates the namespace (TEMPORAL_NAMESPACE, default "default") and registers the call search attributes
# (the list in src/calls/search-attributes.ts, as Name:Type) on it. Running it again skips what exists.
# Temporal Cloud: create the namespace and these attributes in the Cloud UI or with tcld instead.
set -eu
namespace=${TEMPORAL_NAMESPACE:-default}
tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "Temporal at $TEMPORAL_ADDRESS is not serving after 60 s" >&2
    exit 1
  fi
  sleep 1
done
if temporal operator namespace describe --namespace "$namespace" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  echo "namespace $namespace: already exists"
else
  temporal operator namespace create --namespace "$namespace" --retention "${NAMESPACE_RETENTION:-72h}" \
    --address "$TEMPORAL_ADDRESS"
  echo "namespace $namespace: created"
fi
existing=$(temporal operator search-attribute list --namespace "$namespace" --address "$TEMPORAL_ADDRESS")
for attribute in CallProvider:Keyword CallStatus:Keyword CallDirection:Keyword CallFlow:Keyword CallQueue:Keyword \
  CallFrom:Keyword CallTo:Keyword CallOutcome:Keyword CallTalkSeconds:Int CallAnswerSeconds:Int CallAgent:Keyword; do
  name=${attribute%%:*}
  type=${attribute#*:}
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "search attribute $name: already registered"
  else
    temporal operator search-attribute create --name "$name" --type "$type" --namespace "$namespace" \
      --address "$TEMPORAL_ADDRESS"
    echo "search attribute $name: registered"
  fi
done
