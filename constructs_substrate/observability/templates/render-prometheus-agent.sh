#!/bin/bash
# ExecStartPre of prometheus.service: this host's instance id and the remote_write URL
# into the agent config. Fails (systemd retries) until the URL is there.
set -euo pipefail
url=@{url}
amp=@{amp}
# shellcheck source=/dev/null
source @{host_env}
if [[ -z $url ]]; then
  url=$(cat @{url_file}) || { echo "no remote_write URL yet (the Monitoring construct delivers it)" >&2; exit 1; }
fi
region=
if [[ $url =~ ^https://aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com/workspaces/ws-[A-Za-z0-9-]+/api/v1/remote_write$ ]]; then
  region=${BASH_REMATCH[1]}
elif [[ $amp == 1 || ! $url =~ ^https://[A-Za-z0-9.:/_~%+=-]+$ ]]; then
  echo "refusing remote_write URL '$url'" >&2
  exit 1
fi
[[ $INSTANCE_ID =~ ^i-[0-9a-f]+$ ]]
text=$(<@{template})
text=${text//@INSTANCE_ID@/"$INSTANCE_ID"}
text=${text//@REMOTE_WRITE_URL@/"$url"}
printf '%s\n' "${text//@SIGV4_REGION@/"$region"}" >@{config}.new
mv -f @{config}.new @{config}
