"""A minimal reader of TensorBoard event files (scalars only), so that importing them needs no TensorFlow.

An event file is a TFRecord stream: each record is ``uint64 length``, ``uint32 masked_crc32c(length)``,
``data``, ``uint32 masked_crc32c(data)`` (little-endian; ``masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8``).
Each record is a serialised ``tensorflow.Event`` protobuf: ``step`` (field 2) and ``summary`` (field 5),
whose ``value`` entries (field 1) carry a ``tag`` (1) and either ``simple_value`` (2, float32; written by
``torch.utils.tensorboard`` and TF1) or a ``tensor`` (8, a ``TensorProto``: ``float_val`` 5, ``double_val``
6 or ``tensor_content`` 4 with ``dtype`` 1 = DT_FLOAT / 2 = DT_DOUBLE; written by TF2's ``tf.summary``).
Files are untrusted: every length is bounded by the bytes left, and a bad checksum is an error naming the
file and the byte offset; a last record cut short (the file of a run still writing) ends the file with a warning.
"""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path

from .errors import DataError, DataWarning, user_stacklevel


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1  # Castagnoli polynomial, reflected
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum TFRecord uses."""
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _cut_short(path: str | os.PathLike[str], pos: int, size: int, n_read: int) -> None:
    # The writer of a run still training (or killed) leaves its last record half flushed; TensorBoard reads the
    # records before it. An error here stopped the import of a whole sweep while one run was still writing.
    warnings.warn(f"{path}: the last record (byte {pos} of {size}) is cut short, as a writer still running or "
                  f"killed leaves it; read the {n_read} records before it", DataWarning, stacklevel=user_stacklevel(3))


def records(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """The records of a TFRecord file, checksums verified.

    A last record cut short by the end of the file (a writer still running or killed) ends the file with a
    :class:`~mixlaw.errors.DataWarning`; a bad checksum is an error.
    """
    buf = Path(path).read_bytes()
    pos, n_read = 0, 0
    while pos < len(buf):
        if pos + 12 > len(buf):
            _cut_short(path, pos, len(buf), n_read)
            return
        head = buf[pos:pos + 8]
        (n,) = struct.unpack("<Q", head)
        (hcrc,) = struct.unpack("<I", buf[pos + 8:pos + 12])
        if hcrc != masked_crc(head):
            raise DataError(f"bad length checksum at byte {pos} (not a TFRecord file?)", path=str(path))
        start, end = pos + 12, pos + 12 + n
        if end + 4 > len(buf):
            _cut_short(path, pos, len(buf), n_read)
            return
        data = buf[start:end]
        (dcrc,) = struct.unpack("<I", buf[end:end + 4])
        if dcrc != masked_crc(data):
            raise DataError(f"bad data checksum at byte {pos}", path=str(path))
        yield data
        n_read += 1
        pos = end + 4


def _fields(msg: bytes) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of a protobuf message; value is int, or bytes for wire types 1/2/5."""
    pos, n = 0, len(msg)
    while pos < n:
        key, pos = _varint(msg, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _varint(msg, pos)
            yield field, wire, val
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > n:
                raise ValueError("truncated fixed-width field")
            yield field, wire, msg[pos:pos + size]
            pos += size
        elif wire == 2:
            size, pos = _varint(msg, pos)
            if pos + size > n:
                raise ValueError("length-delimited field runs past the message")
            yield field, wire, msg[pos:pos + size]
            pos += size
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _varint(msg: bytes, pos: int) -> tuple[int, int]:
    out, shift = 0, 0
    while True:
        if pos >= len(msg) or shift > 63:
            raise ValueError("bad varint")
        b = msg[pos]
        out |= (b & 0x7F) << shift
        pos += 1
        if not b & 0x80:
            return out, pos
        shift += 7


def _tensor_value(msg: bytes) -> float | None:
    dtype, vals, content = 0, [], b""
    for f, w, v in _fields(msg):
        if f == 1 and w == 0:
            dtype = int(v)  # type: ignore[arg-type]
        elif f == 4 and w == 2:
            content = v  # type: ignore[assignment]
        elif f == 5:  # float_val: packed (wire 2) or one fixed32
            vals += list(struct.unpack(f"<{len(v) // 4}f", v)) if w == 2 else [struct.unpack("<f", v)[0]]
        elif f == 6:
            vals += list(struct.unpack(f"<{len(v) // 8}d", v)) if w == 2 else [struct.unpack("<d", v)[0]]
    if vals:
        return float(vals[0]) if len(vals) == 1 else None
    if dtype == 1 and len(content) == 4:
        return float(struct.unpack("<f", content)[0])
    if dtype == 2 and len(content) == 8:
        return float(struct.unpack("<d", content)[0])
    return None


def read_scalars(path: str | os.PathLike[str]) -> Iterator[tuple[int, str, float]]:
    """``(step, tag, value)`` of every scalar summary in an event file, in file order."""
    for i, rec in enumerate(records(path)):
        try:
            step, summaries = 0, []
            for f, w, v in _fields(rec):
                if f == 2 and w == 0:
                    step = int(v)  # type: ignore[arg-type]
                elif f == 5 and w == 2:
                    summaries.append(v)
            for summary in summaries:
                for f, w, v in _fields(summary):  # type: ignore[arg-type]
                    if f != 1 or w != 2:
                        continue
                    tag, value = None, None
                    for g, x, u in _fields(v):  # type: ignore[arg-type]
                        if g == 1 and x == 2:
                            tag = u.decode("utf-8", "replace")  # type: ignore[union-attr]
                        elif g == 2 and x == 5:
                            value = float(struct.unpack("<f", u)[0])  # type: ignore[arg-type]
                        elif g == 8 and x == 2:
                            value = _tensor_value(u)  # type: ignore[arg-type]
                    if tag is not None and value is not None:
                        yield step, tag, value
        except (ValueError, struct.error) as e:
            raise DataError(f"record {i}: not a TensorBoard event ({e})", path=str(path)) from None


__all__ = ["read_scalars", "records", "crc32c", "masked_crc"]
