"""prepare-data-volume.sh with the disk tools stubbed: which disk it picks, that it
never formats a disk that already has a filesystem, and that fstab stays idempotent."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from bootstrap_support import CONFIGS, path_with, script, write_env, write_executable

from constructs_substrate.bootstrap import paths, render_bootstrap

EBS, STORE = "Amazon Elastic Block Store", "Amazon EC2 NVMe Instance Storage"


def run(tmp_path: Path, disks: list[tuple[str, str]], formatted: bool, mounted: bool = False):
    """Disks are (name, model); the root disk is nvme0n1. Returns (result, calls)."""
    log, fakes = tmp_path / "calls.log", tmp_path / "fakes"
    sys_root = tmp_path / "sys/nvme0n1/nvme0n1p1"
    sys_root.mkdir(parents=True, exist_ok=True)
    (sys_root / "partition").write_text("1\n")
    state = tmp_path / "formatted"
    if mounted:
        (tmp_path / "data").mkdir(exist_ok=True)
    if formatted:
        state.write_text("")
    lines = "\\n".join(f"{name} {model}" for name, model in disks)
    stubs = {
        "mountpoint": f'[[ $1 == -d ]] && {{ echo 259:1; exit 0; }}\n{"exit 0" if mounted else "exit 1"}',
        "readlink": f"echo {sys_root}",
        "lsblk": f'printf "{lines}\\n"',
        # --probe: 0 when a filesystem exists, 2 when the disk is blank.
        "blkid": (
            f'if [[ $1 == --probe ]]; then [[ -e {state} ]] && exit 0 || exit 2; fi\n'
            'case "$*" in *UUID*) echo 1111-2222 ;; *TYPE*) echo ext4 ;; esac'
        ),
        "mkfs.ext4": f"touch {state}",
        "udevadm": "", "mount": "", "systemctl": "", "sleep": "", "chown": "",
    }
    for name, body in stubs.items():
        write_executable(fakes / name, f'#!/bin/bash\necho "{name} $*" >> {log}\n{body}\n')
    config = CONFIGS["validator"]()
    fstab = tmp_path / "fstab"
    if not fstab.exists():
        # An entry from an earlier volume at the same mount point is replaced.
        fstab.write_text(f"LABEL=cloudimg-rootfs / ext4 discard,errors=remount-ro 0 1\n/dev/old {tmp_path}/data ext4 defaults 0 2\n")
    env_file = write_env(config, tmp_path / "bootstrap.env", DATA_DIR=str(tmp_path / "data"), FSTAB=str(fstab))
    runner = script(render_bootstrap(config), paths.PREPARE_VOLUME_SCRIPT, tmp_path)
    result = subprocess.run([str(runner), str(env_file)], env=path_with(fakes), capture_output=True, text=True)
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_formats_a_blank_volume_and_mounts_it_by_uuid(tmp_path):
    result, calls = run(tmp_path, [("nvme0n1", EBS), ("nvme1n1", EBS), ("nvme2n1", STORE)], formatted=False)
    assert result.returncode == 0, result.stderr
    assert "mkfs.ext4 -q -L substrate-data -E nodiscard /dev/nvme1n1" in calls
    data = tmp_path / "data"
    assert (tmp_path / "fstab").read_text().splitlines() == [
        "LABEL=cloudimg-rootfs / ext4 discard,errors=remount-ro 0 1",
        f"UUID=1111-2222 {data} ext4 defaults,nofail,noatime 0 2",
    ]
    assert f"mount {data}" in calls


def test_never_formats_a_volume_that_has_a_filesystem(tmp_path):
    result, calls = run(tmp_path, [("nvme0n1", EBS), ("nvme1n1", EBS)], formatted=True)
    assert result.returncode == 0, result.stderr
    assert not any(c.startswith("mkfs") for c in calls)
    assert "already has a filesystem" in result.stderr


def test_rerun_does_not_duplicate_the_fstab_entry(tmp_path):
    run(tmp_path, [("nvme0n1", EBS), ("nvme1n1", EBS)], formatted=True)
    first = (tmp_path / "fstab").read_text()
    result, _ = run(tmp_path, [("nvme0n1", EBS), ("nvme1n1", EBS)], formatted=True)
    assert result.returncode == 0
    assert (tmp_path / "fstab").read_text() == first


def test_already_mounted_is_left_alone(tmp_path):
    result, calls = run(tmp_path, [("nvme0n1", EBS), ("nvme1n1", EBS)], formatted=False, mounted=True)
    assert result.returncode == 0, result.stderr
    assert not any(c.startswith(("mkfs", "mount ", "lsblk")) for c in calls)


@pytest.mark.parametrize("disks, message", [
    ([("nvme0n1", EBS), ("nvme1n1", EBS), ("nvme3n1", EBS)], "expected one data volume, found 2"),
    ([("nvme0n1", EBS), ("nvme2n1", STORE)], "no data volume attached after 600s"),
])
def test_fails_loudly_without_exactly_one_candidate(tmp_path, disks, message):
    result, calls = run(tmp_path, disks, formatted=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert not any(c.startswith(("mkfs", "mount ")) for c in calls)
