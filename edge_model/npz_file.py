"""numpy's .npz files read without numpy (the daemon runs the theft migration and never loads numpy)."""

from __future__ import annotations

from pathlib import Path

# numpy's .npy format: a magic string, a version, a header dict (dtype, order, shape), then the raw values.
_NPY_MAGIC = b"\x93NUMPY"
_NPY_CODES = {"f8": "d", "f4": "f", "i8": "q", "i4": "i", "u1": "B", "b1": "?"}


def read_npz(path: Path) -> dict[str, tuple[str, tuple[int, ...], bytes]]:
    """{name: (dtype, shape, raw bytes in C order)} of an .npz such as np.savez writes; ValueError
    for anything else (a cut-off file, a member that is not an array, an unknown dtype)."""
    import ast
    import struct
    import zipfile

    out = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                data = archive.read(name)
                if not data.startswith(_NPY_MAGIC):
                    raise ValueError(f"{name} is not a .npy array")
                size_format = "<H" if data[6] == 1 else "<I"
                start = 8 + struct.calcsize(size_format)
                (header_len,) = struct.unpack(size_format, data[8:start])
                header = ast.literal_eval(data[start : start + header_len].decode("latin-1"))
                dtype, shape, raw = str(header["descr"]), tuple(header["shape"]), data[start + header_len :]
                if header["fortran_order"] and len(shape) == 2:
                    raw, dtype = _c_order(dtype, shape, raw), "=" + dtype[1:]
                out[name.removesuffix(".npy")] = (dtype, shape, raw)
    except (zipfile.BadZipFile, struct.error, EOFError) as err:
        raise ValueError(f"{type(err).__name__}: {err}") from None
    return out


def _array(dtype: str, raw: bytes):
    """The values, in this machine's byte order."""
    import array
    import sys

    order, code = dtype[0], _NPY_CODES.get(dtype[1:])
    if code is None or order not in "<>|=":
        raise ValueError(f"unsupported dtype {dtype!r}")
    values = array.array(code)
    values.frombytes(raw[: len(raw) - len(raw) % values.itemsize])
    if order in "<>" and (order == ">") != (sys.byteorder == "big"):
        values.byteswap()
    return values


def _c_order(dtype: str, shape: tuple[int, int], raw: bytes) -> bytes:
    """A Fortran-order 2-D array's bytes in C order (and this machine's byte order, said "=")."""
    values = _array(dtype, raw)
    rows, cols = shape
    reordered = type(values)(values.typecode, (values[c * rows + r] for r in range(rows) for c in range(cols)))
    return reordered.tobytes()


def column_values(dtype: str, shape: tuple[int, ...], raw: bytes, n: int) -> list:
    """A 1-D member's values, checked to hold `n` of them."""
    values = _array(dtype, raw).tolist()
    if shape != (n,) or len(values) != n:
        raise ValueError(f"a column of shape {shape} beside {n} rows")
    return values


def float32_rows(dtype: str, shape: tuple[int, int], raw: bytes) -> list[bytes]:
    """Each row of a 2-D float array as float32 little-endian bytes."""
    import array
    import sys

    values = _array(dtype, raw)
    rows, cols = shape
    if len(values) != rows * cols:
        raise ValueError(f"X holds {len(values)} values, its shape {shape} says {rows * cols}")
    out = []
    for r in range(rows):
        row = array.array("f", values[r * cols : (r + 1) * cols])
        if sys.byteorder == "big":
            row.byteswap()
        out.append(row.tobytes())
    return out
