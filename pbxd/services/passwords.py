"""Password hashing with scrypt (RFC 7914).

Stored form: "scrypt$<n>$<r>$<p>$<salt, base64>$<key, base64>", so the cost can be raised
later without invalidating stored hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
# n=2**14, r=8 needs 16 MiB and about 40 ms on the build host: affordable on the appliance for
# the few logins it sees, expensive for an offline dictionary attack.
COST_N = 2**14
BLOCK_SIZE_R = 8
PARALLEL_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
_MAXMEM = 64 * 1024 * 1024


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=KEY_BYTES
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, COST_N, BLOCK_SIZE_R, PARALLEL_P)
    return f"{SCHEME}${COST_N}${BLOCK_SIZE_R}${PARALLEL_P}${_b64(salt)}${_b64(key)}"


# Checked against when a user does not exist, so that the answer takes as long as for one who
# does (no user enumeration by timing). No password derives to an all-zero key.
DUMMY_HASH = (
    f"{SCHEME}${COST_N}${BLOCK_SIZE_R}${PARALLEL_P}$"
    f"{_b64(bytes(SALT_BYTES))}${_b64(bytes(KEY_BYTES))}"
)


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; a malformed `stored` never matches."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = base64.b64decode(key, validate=True)
        actual = _derive(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)
