"""vCPU and memory of EC2 instance types, derived from the type name.

Used only to refuse types too small for a role before anything is deployed. The
size suffix gives the vCPUs (``large`` = 2, ``xlarge`` = 4, ``Nxlarge`` = 4N) and the
family letter the memory per vCPU (c = 2 GiB, m = 4, r = 8, x = 16), which holds for
every current x86 family. Burstable ``t`` types have their own table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TYPE = re.compile(r"^(?P<family>[a-z]+)(?P<gen>\d+)(?P<attrs>[a-z-]*)\.(?P<size>[a-z0-9]+)$")
_SIZE_VCPUS = {"medium": 1, "large": 2, "xlarge": 4, "metal": 96}
_GIB_PER_VCPU = {"c": 2, "m": 4, "r": 8, "x": 16, "z": 8, "i": 8, "d": 8, "h": 8}
_BURSTABLE = {  # vCPU, GiB; t3/t3a share the table
    "nano": (2, 0.5), "micro": (2, 1), "small": (2, 2), "medium": (2, 4),
    "large": (2, 8), "xlarge": (4, 16), "2xlarge": (8, 32),
}


@dataclass(frozen=True)
class InstanceSpec:
    name: str
    vcpus: int
    memory_gib: float
    arm64: bool
    burstable: bool


class UnknownInstanceType(ValueError):
    pass


def describe(instance_type: str) -> InstanceSpec:
    match = _TYPE.match(instance_type)
    if not match:
        raise UnknownInstanceType(
            f"{instance_type!r} is not an EC2 instance type name like 'c7i.2xlarge'"
        )
    family, attrs, size = match["family"], match["attrs"], match["size"]
    # Graviton types carry a 'g' attribute (c7g, m7gd, c7gn); the 'g' family (g5) is x86 GPUs.
    arm64 = "g" in attrs
    if family == "t":
        if size not in _BURSTABLE:
            raise UnknownInstanceType(f"unknown burstable size in {instance_type!r}")
        vcpus, memory = _BURSTABLE[size]
        return InstanceSpec(instance_type, vcpus, memory, arm64, True)
    if size in _SIZE_VCPUS:
        vcpus = _SIZE_VCPUS[size]
    elif size.endswith("xlarge") and size[:-6].isdigit():
        vcpus = 4 * int(size[:-6])
    else:
        raise UnknownInstanceType(f"unknown size {size!r} in {instance_type!r}")
    per_vcpu = _GIB_PER_VCPU.get(family[0])
    if per_vcpu is None:
        raise UnknownInstanceType(
            f"family {family!r} of {instance_type!r} is not a general purpose, compute, "
            "memory or storage family (c, m, r, x, z, i, d, h)"
        )
    return InstanceSpec(instance_type, vcpus, float(vcpus * per_vcpu), arm64, False)
