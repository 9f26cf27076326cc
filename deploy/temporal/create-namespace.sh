#!/bin/sh
# Creates the namespace and the trial's typed search attributes once the server is healthy.
# The attribute names must match workflows/search_attributes.py.
set -eu
NS="${DEFAULT_NAMESPACE:-default}"
ADDR="${TEMPORAL_ADDRESS:-temporal:7233}"
ATTEMPTS="${TEMPORAL_HEALTH_CHECK_MAX_ATTEMPTS:-60}"

i=1
until temporal operator cluster health --address "$ADDR"; do
  [ "$i" -ge "$ATTEMPTS" ] && { echo "Temporal not healthy after $ATTEMPTS attempts"; exit 1; }
  i=$((i + 1)); sleep 5
done

temporal operator namespace describe -n "$NS" --address "$ADDR" >/dev/null 2>&1 \
  || temporal operator namespace create -n "$NS" --address "$ADDR"

for attr in TrialPhase:Keyword TrialDisease:Keyword TrialDoseLevel:Keyword TrialSite:Keyword \
            TrialNextDue:Datetime; do
  name="${attr%%:*}"; type="${attr##*:}"
  temporal operator search-attribute create --namespace "$NS" --address "$ADDR" \
    --name "$name" --type "$type" || echo "search attribute $name exists"
done
echo "namespace $NS ready"
