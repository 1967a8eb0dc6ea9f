#!/bin/bash
# Finds the data volume, formats it only if it holds no filesystem, mounts it by UUID
# and hands it to the service user. The volume is attached by a separate Terraform
# resource, possibly after boot, so it is waited for. Usage: prepare-data-volume.sh [ENV_FILE]
set -euo pipefail

env_file=${1:-@{env_file}}
# shellcheck source=/dev/null  # the env file is rendered per node (constructs_substrate.bootstrap.env)
source "$env_file"

log() { printf '%s prepare-data-volume: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

readonly EBS_MODEL="Amazon Elastic Block Store"
readonly ATTEMPTS=120 RETRY_SECONDS=5  # ~10 minutes

root_disk() {
  # The disk holding / (the parent of its partition), found by device number.
  local sys
  sys=$(readlink -f "/sys/dev/block/$(mountpoint -d /)")
  [[ -e $sys/partition ]] && sys=${sys%/*}
  printf '%s\n' "${sys##*/}"
}

candidates() {
  # EBS disks other than the root disk (NVMe instance store has another model).
  local root name model
  root=$(root_disk)
  while read -r name model; do
    if [[ $model == "$EBS_MODEL" && $name != "$root" ]]; then
      printf '/dev/%s\n' "$name"
    fi
  done < <(lsblk --nodeps --noheadings --output NAME,MODEL)
}

if mountpoint -q "$DATA_DIR"; then
  log "$DATA_DIR is already mounted"
else
  for attempt in $(seq 1 "$ATTEMPTS"); do
    mapfile -t found < <(candidates)
    if (( ${#found[@]} > 1 )); then
      die "expected one data volume, found ${#found[@]}: ${found[*]}"
    fi
    (( ${#found[@]} == 0 )) || break
    (( attempt < ATTEMPTS )) || die "no data volume attached after $((ATTEMPTS * RETRY_SECONDS))s"
    log "waiting for the data volume to be attached (attempt $attempt)"
    sleep "$RETRY_SECONDS"
  done
  device=${found[0]}
  udevadm settle

  # Never reformat: blkid exits 2 only when it finds no signature at all.
  if blkid --probe "$device" >/dev/null; then
    log "$device already has a filesystem; keeping it"
  else
    status=$?
    (( status == 2 )) || die "blkid failed on $device (exit $status)"
    log "formatting empty volume $device as ext4"
    # nodiscard: a new EBS volume is already zeroed; discarding a multi-TiB disk takes minutes.
    mkfs.ext4 -q -L substrate-data -E nodiscard "$device"
  fi

  uuid=$(blkid --match-tag UUID --output value "$device")
  fstype=$(blkid --match-tag TYPE --output value "$device")
  [[ -n $uuid && -n $fstype ]] || die "no UUID/type on $device"
  # nofail: a missing volume must not stop the host from booting (SSM stays reachable);
  # the node unit's RequiresMountsFor keeps the node down instead.
  entry="UUID=$uuid $DATA_DIR $fstype defaults,nofail,noatime 0 2"
  if ! grep -qxF "$entry" "$FSTAB"; then
    awk -v dir="$DATA_DIR" '$2 != dir' "$FSTAB" > "$FSTAB.new"
    printf '%s\n' "$entry" >> "$FSTAB.new"
    mv -f "$FSTAB.new" "$FSTAB"
    systemctl daemon-reload
  fi
  mkdir -p "$DATA_DIR"
  mount "$DATA_DIR"
  log "mounted $device ($fstype, UUID $uuid) at $DATA_DIR"
fi

# A volume restored from another host's snapshot may carry another uid.
if [[ $(stat -c %U "$DATA_DIR") != "$SERVICE_USER" ]]; then
  chown -R "$SERVICE_USER:" "$DATA_DIR"
fi
chmod 0750 "$DATA_DIR"
