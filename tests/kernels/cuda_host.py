"""minigrad's raw CUDA kernels run on the CPU: ``HostRawModule`` compiles a kernel source
(a ``kernels/*.cu`` file, or a ``RawModule`` source in minigrad) as host C++ with
``cuda_host.h`` first (g++), and ``get_function(name)`` launches kernel ``name`` on NumPy
arrays the way ``cupy.RawModule(...).get_function(name)`` launches it on CuPy arrays:
``kernel(grid, block, args, shared_mem=0)``, each array argument passed as a pointer to
its first element (written in place), each scalar by value.

What runs is the kernel's own text, every thread of every block (cuda_host.h: threads as
fibers, blocks and threads in a seeded shuffled order, shared memory poisoned per block,
barriers and warp collectives checked, shared memory checked for races inside a
barrier interval and global memory for accesses outside the arrays passed: ``RACECHECK``,
the racecheck and the memcheck). What it adds to the launch: each argument is
checked against the kernel's parameter type, where CuPy would pass the bytes it was given
(an ``np.int64`` for an ``int`` parameter shifts every later argument on a GPU, silently);
a Python int or float passes as CuPy passes it (int64, float64), so it fits only such a
parameter. The grid and block are CuPy's (every dim at least 1: a grid of 0 blocks runs one
block), refused where CUDA refuses them, the kernel's ``__launch_bounds__`` included; the
dynamic shared memory a kernel opts in to is refused above the device's limit.

The tensor-core instructions of ``kernels/tc_common.cuh`` (``cp.async``, ``ldmatrix``,
``mma.sync``, ``mma.sp``) and of ``kernels/wgmma_common.cuh`` (``wgmma.mma_async`` dense
and sparse, with its fences, groups and waits) are modelled in cuda_host.h, and CUDA's WMMA
API in ``cuda_host_include/mma.h``, so hgemm.cu, mm24.cu, hgemm_wgmma.cu, mm24_wgmma.cu and
hgemm_wmma.cu run too. Not for: other inline PTX (a source with ``asm`` is refused).
"""
from __future__ import annotations

import ast
import ctypes
import functools
import hashlib
import operator
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

try:
    from numpy.lib.array_utils import byte_bounds  # NumPy 2
except ImportError:  # NumPy 1.x
    byte_bounds = np.byte_bounds

HEADER = Path(__file__).with_name("cuda_host.h")
# CUDA's own headers that a kernel may include, for the host (mma.h: WMMA; cuda_fp16.h)
INCLUDE = Path(__file__).with_name("cuda_host_include")
# what HEADER includes of ours, and INCLUDE (part of every build's cache key)
_INCLUDED = [HEADER, Path(__file__).resolve().parents[2] / "kernels" / "convert.cuh",
             *sorted(INCLUDE.glob("*.h"))]
_HEADERS = "".join(h.read_text() for h in _INCLUDED)
_CACHE = Path(tempfile.gettempdir()) / f"minigrad-cuda-host-{os.getuid()}"
_lock = threading.Lock()
_libraries: dict = {}  # digest -> ctypes library, one g++ run per source and process
_modules: dict = {}  # (source, flags, name expressions) -> _build's (library, kernels)

# extern "C" void [mg_bounds_begin <__launch_bounds__'s arguments> mg_bounds_end] name(
_KERNEL_NAME = re.compile(r'extern\s+"C"\s+void\s+(?:mg_bounds_begin\s+(.*?)\s+mg_bounds_end\s+)?'
                          r'(\w+)\s*\(', re.S)
#: CUDA's most threads a block (and a kernel's without __launch_bounds__).
MAX_THREADS = 1024
#: The most shared memory a block may opt in to, by compute capability (A100: 163 KiB;
#: H100 and H200: 227 KiB): cudaDevAttrMaxSharedMemoryPerBlockOptin.
SMEM_OPTIN = {"80": 166912, "90": 232448}
_MARK = "mg_cuda_host_kernels_begin"
# extern __shared__ [__align__(n)] T name[];  ->  a pointer to the launch's buffer
_DYNAMIC_SHARED = re.compile(
    r"extern\s+__shared__\s+(?:__align__\(\s*\d+\s*\)\s+)?(\w+(?:\s+\w+)*?)\s+(\w+)\s*\[\s*\]\s*;")
# __shared__ [__align__(n)] T a[N]..., b[M]...;  (static: the extern ones are rewritten first)
_STATIC_SHARED = re.compile(r"__shared__\s+(?:__align__\(\s*(\d+)\s*\)\s+)?([^;\n]*);")
_DECLARATOR = re.compile(r"^(.*?)\b(\w+)\s*((?:\[[^\]]*\]\s*)*)$")
_ASM = re.compile(r"\basm\s*(volatile\s*)?\(")
# No FMA contraction (the twins round each product), casts between vector and scalar loads
# allowed, no fortified longjmp (the fibers switch stacks with it). Every library keeps its
# own copy of everything but its entry points (hidden, and no STB_GNU_UNIQUE, which would
# make one process-wide instance of a kernel's static __shared__ array: a module built with
# a smaller STREAM_NNZ would then lend its array to one built with a larger one).
_CXXFLAGS = ["-std=c++17", "-O1", "-fno-strict-aliasing", "-ffp-contract=off", "-fno-fast-math",
             "-U_FORTIFY_SOURCE", "-fvisibility=hidden", "-fvisibility-inlines-hidden",
             "-fno-gnu-unique", "-shared", "-fPIC", "-w"]
#: Whether the host builds check shared memory for races inside a barrier interval and
#: global accesses for bounds (cuda_host.h, "racecheck" and "memcheck": one instrumented
#: build); MINIGRAD_CUDA_HOST_RACECHECK=0 leaves both out for a whole run.
RACECHECK = os.environ.get("MINIGRAD_CUDA_HOST_RACECHECK", "1") != "0"
# g++'s ThreadSanitizer instrumentation, with cuda_host.h's hooks for its runtime: the
# object is linked on its own, without libtsan (which cannot be loaded into a running
# Python), and -z defs proves every hook is there; -g1 (line tables) so that a race names
# its lines
_RACECHECK_FLAGS = ["-DMG_RACECHECK", "-fsanitize=thread",
                    "--param=tsan-instrument-func-entry-exit=0", "-g1"]


def available() -> bool:
    """Whether g++ is here (the host runs need it, as the compile checks need nvcc)."""
    return shutil.which("g++") is not None


def _gxx(args, what):
    result = subprocess.run([shutil.which("g++"), *args], capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"g++ could not build {what} for the host:\n"
                           + re.sub(r"\n+", "\n", result.stderr)[-6000:])
    return result.stdout


#: The g++ flags of every kernel build, before the source's own (:func:`_flags`); the header
#: is precompiled with them (:func:`precompiled_header`). INCLUDE is searched first: its
#: mma.h and cuda_fp16.h, not the CUDA toolkit's.
BUILD_FLAGS = [*_CXXFLAGS, f"-I{INCLUDE}", *(_RACECHECK_FLAGS if RACECHECK else [])]


def _flags(options) -> list[str]:
    """NVRTC options -> the source's own g++ flags: its -D and -I (the rest, architecture
    and --std, are ours: BUILD_FLAGS)."""
    return [o for o in options if o.startswith(("-D", "-I"))]


def _static_shared(source: str) -> str:
    """Each static ``__shared__`` declaration of ``source`` as references into cuda_host.h's
    static shared memory (``mg::static_shared``, where every block starts them poisoned),
    on the same line: ``__shared__ T a[8], b;`` becomes ``T (&a)[8] =
    mg::static_shared<T[8]>(__PRETTY_FUNCTION__, site, 0); T (&b) = ...``."""
    site = 0

    def declare(m):
        nonlocal site
        align = m[1] or "0"
        parts = [_DECLARATOR.match(d.strip()) for d in m[2].split(",")]
        if not all(parts) or not parts[0][1].strip():
            # not a declaration: a comment's words, left as they are (in code, the header's
            # static_assert stops the build)
            return m[0]
        type_, out = parts[0][1].strip(), []
        for _, name, dims in (p.groups() for p in parts):
            site += 1
            out.append(f"{type_} (&{name}){dims.strip()} = mg::static_shared<{type_}"
                       f"{dims.strip()}>(__PRETTY_FUNCTION__, {site}, {align});")
        return " ".join(out)

    return _STATIC_SHARED.sub(declare, source)


def _max_threads(bounds: str) -> int:
    """A block's most threads by ``__launch_bounds__(bounds)`` (its first argument, the
    macros expanded: an integer expression), or CUDA's 1024 without it."""
    if not bounds:
        return MAX_THREADS
    depth, first = 0, ""
    for c in bounds:
        depth += (c == "(") - (c == ")")
        if c == "," and depth == 0:
            break
        first += c
    expr = re.sub(r"(?<=\d)[uUlL]+", "", first).replace("/", "//")  # 256u; C's integer /
    try:
        return _integer(ast.parse(expr.strip(), mode="eval").body)
    except (SyntaxError, ValueError) as e:
        raise NotImplementedError(f"__launch_bounds__({bounds}): not an integer constant "
                                  "the host run can read") from e


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}


def _integer(node) -> int:
    """The value of an expression of integers, + - * // % and parentheses (ast)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_integer(node.left), _integer(node.right))
    raise ValueError(ast.dump(node))


def _kernel_names(source: str, flags: list[str]) -> dict[str, int]:
    """The ``extern "C"`` functions of ``source`` after the preprocessor (the kernel
    macros expanded), its kernels, each with its most threads a block (_max_threads)."""
    with tempfile.TemporaryDirectory(prefix="mg-cuda-host-") as d:
        src = Path(d) / "k.cpp"
        src.write_text(f'#include "{HEADER}"\nint {_MARK};\n{source}')
        pre = _gxx(["-std=c++17", "-E", "-P", "-DMG_KERNEL_NAMES", *flags, str(src)],
                   "the kernel source")
    body = pre[pre.index(_MARK):]
    if _ASM.search(body):
        raise NotImplementedError("this source uses inline PTX (asm) of its own, which the "
                                  "host run does not model (only tc_common.cuh's and "
                                  "wgmma_common.cuh's wrappers)")
    return {name: _max_threads(bounds) for bounds, name in _KERNEL_NAME.findall(body)}


def _build(source: str, options, name_expressions) -> tuple[ctypes.CDLL, dict]:
    """(the library, kernel name -> (its entry's symbol, its most threads a block)) for
    ``source``: one entry ``mg_entry_<i>`` per kernel (extern "C" functions and
    ``name_expressions``). A source built before in this process costs nothing: not even
    the preprocessor run that names its kernels."""
    flags = [*BUILD_FLAGS, *_flags(options)]
    key = (source, tuple(flags), tuple(name_expressions))
    with _lock:
        module = _modules.get(key)
    if module is not None:
        return module
    source = _DYNAMIC_SHARED.sub(r"\1* \2 = reinterpret_cast<\1*>(mg::dynamic_smem);", source)
    source = _static_shared(source)
    bounds = _kernel_names(source, flags)
    names = list(dict.fromkeys([*bounds, *name_expressions]))
    entries = "".join(
        f'extern "C" MG_EXPORT int mg_entry_{i}(const unsigned* g, const unsigned* b, size_t m, '
        f"void** a, unsigned long long s, char* sig, size_t n) {{ return mg::entry(&{name}, "
        f"g, b, m, a, s, sig, n); }}\n" for i, name in enumerate(names))
    body = f'#line 1 "kernel"\n{source}\n{entries}'
    digest = hashlib.sha256((_HEADERS + body + repr(flags))
                            .encode()).hexdigest()[:20]
    with _lock:
        lib = _libraries.get(digest)
        if lib is None:
            so = _CACHE / f"{digest}.so"
            if so.exists():
                _used(so)
            else:
                prune_cache()
                header = precompiled_header(BUILD_FLAGS)
                cpp = _CACHE / f"{digest}.{os.getpid()}.cpp"
                cpp.write_text(f'#include "{header}"\n{body}')
                tmp = _CACHE / f"{digest}.{os.getpid()}.so"
                obj = _CACHE / f"{digest}.{os.getpid()}.o"
                _gxx([*flags, "-c", "-o", str(obj), str(cpp)], "the kernel source")
                _gxx(["-shared", "-Wl,-z,defs", "-o", str(tmp), str(obj)], "the kernel source")
                obj.unlink()
                os.replace(tmp, so)  # atomic: a parallel worker sees all or nothing
                cpp.unlink()
            lib = _libraries[digest] = ctypes.CDLL(str(so))
        lib.mg_error.restype = ctypes.c_char_p
        module = _modules[key] = lib, {name: (f"mg_entry_{i}", bounds.get(name, MAX_THREADS))
                                       for i, name in enumerate(names)}
    return module


@functools.cache
def _gxx_version() -> str:
    return _gxx(["--version"], "its version")


def precompiled_header(flags) -> Path:
    """The path to ``#include`` for cuda_host.h in builds with g++ ``flags`` (and a kernel's
    own ``-D``s and ``-I``s after them: the header names none of their macros): a stub
    that includes HEADER, beside HEADER precompiled with these flags (``.gch``, built on
    first use and kept in the cache), which g++ reads instead of the stub. Parsing the
    header is about half of a small kernel's build. Where g++ cannot use the ``.gch`` (a
    flag that differs) it reads the stub: the same build, that much slower. The cache key
    holds g++'s version, which the ``.gch`` is only good for."""
    digest = hashlib.sha256((_HEADERS + repr(flags) + _gxx_version()).encode()).hexdigest()[:20]
    folder = _CACHE / f"pch-{digest}"
    stub = folder / HEADER.name
    if stub.exists():
        _used(folder)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{HEADER.name}.{os.getpid()}.gch"
        _gxx([*flags, "-x", "c++-header", "-o", str(tmp), str(HEADER)], "cuda_host.h")
        os.replace(tmp, folder / f"{HEADER.name}.gch")
        part = folder / f"{HEADER.name}.{os.getpid()}"
        part.write_text(f'#include "{HEADER}"\n')
        os.replace(part, stub)  # last: a stub without its .gch would cost every build
    return stub


#: The build cache's size budget (MINIGRAD_CUDA_HOST_CACHE_MB, 1024 by default): every
#: edit of cuda_host.h adds about 150 MB to it (a 50 MB .gch for each flag set, and the
#: libraries).
CACHE_BUDGET = int(os.environ.get("MINIGRAD_CUDA_HOST_CACHE_MB", "1024")) << 20
_CACHE_ENTRY = re.compile(r"(?:[0-9a-f]{20}\.so|pch-[0-9a-f]{20})")


def _used(path: Path):
    """Mark a cache entry as used now (its mtime: what :func:`prune_cache` goes by)."""
    try:
        os.utime(path)
    except OSError:
        pass  # pruned by another process meanwhile


_pruned = []


def prune_cache(cache: Path | None = None, budget: int | None = None, idle: float = 3600):
    """Keep the build cache under ``budget`` bytes (CACHE_BUDGET): past it, the entries (a
    library, or a precompiled header's folder) least recently used go first, down to half
    the budget, but none used in the last ``idle`` seconds (another process may be building
    with it). Runs once a process, before its first build (and whenever called with a
    ``cache``)."""
    if cache is None:
        if _pruned:
            return
        _pruned.append(True)
    cache = _CACHE if cache is None else cache
    budget = CACHE_BUDGET if budget is None else budget
    entries = []
    for e in cache.iterdir() if cache.is_dir() else ():
        if _CACHE_ENTRY.fullmatch(e.name):
            try:
                files = list(e.iterdir()) if e.is_dir() else [e]
                entries.append((e.stat().st_mtime, sum(f.stat().st_size for f in files), e))
            except OSError:
                pass  # pruned by another process meanwhile
    total = sum(size for _, size, _ in entries)
    if total <= budget:
        return
    now = time.time()
    for mtime, size, e in sorted(entries):
        if total <= budget // 2 or now - mtime < idle:
            break
        shutil.rmtree(e, ignore_errors=True) if e.is_dir() else e.unlink(missing_ok=True)
        total -= size


#: How the threads of a block take turns (cuda_host.h, "Execution model"): "lead" (a warp
#: runs ahead of the others as far as the barriers let it before every round, so a missing
#: barrier between warps shows) or "rounds" (each live thread in turn: warps in near lock
#: step). MINIGRAD_CUDA_HOST_SCHEDULE overrides the default for a whole run.
SCHEDULE = os.environ.get("MINIGRAD_CUDA_HOST_SCHEDULE", "lead")


_SCALARS = {"float32", "float64", "int32", "uint32", "int64", "uint64", "int16", "uint16",
            "int8", "uint8", "bool"}


def _address(a) -> int:
    return a.__array_interface__["data"][0]


_PC = re.compile(r"\{pc:([0-9a-f]+)\}")
# the host model's own headers: a race names the kernel's line that called into them
_MODEL_FILES = {HEADER.name, *(h.name for h in INCLUDE.iterdir())}


def _source_lines(lib, message: str) -> str:
    """``message`` with each code address ``{pc:<offset in lib>}`` (a racecheck report) as
    the source line it belongs to: the kernel's ("hgemm.cu line 180", by the #line
    directives of ``_cuda.kernel_source``; "kernel line N" for a source given as a string),
    where the kernel made the access or called what made it (inlined frames: addr2line -i on
    the -g1 build); a line of this model's headers only where no kernel frame is known."""
    pcs = _PC.findall(message)
    lines = {}
    if pcs and shutil.which("addr2line"):
        # the call's return address is one past the access: its line is the byte before's.
        # -a starts each address's frames, innermost first, with the address itself.
        out = subprocess.run(["addr2line", "-a", "-i", "-e", lib._name,
                              *(hex(int(p, 16) - 1) for p in pcs)],
                             capture_output=True, text=True).stdout.split("\n")
        frames = {}
        for where in out:
            if where.startswith("0x"):
                chain = frames.setdefault(f"{int(where, 16) + 1:x}", [])
            elif frames:
                file, _, line = where.rpartition(":")
                line = line.split(" ")[0]
                if line.isdigit() and line != "0":
                    chain.append((Path(file), line))
        for p, chain in frames.items():
            ours = [(f, n) for f, n in chain if f.name not in _MODEL_FILES and
                    not f.is_relative_to("/usr")]
            if chain:
                file, line = (ours or chain)[0]
                lines[p] = f"{'kernel' if file.suffix == '.cpp' else file.name} line {line}"
    return _PC.sub(lambda m: lines.get(m[1], "line unknown"), message)


#: Bytes of red zone around each argument in the memcheck's arena (cuda_host.h).
RED_ZONE = 256


def _extent(a) -> tuple[int, int]:
    """[lo, hi): the bytes array ``a`` spans (any strides; empty for no elements, where
    byte_bounds would count a strided view's other dimensions)."""
    if 0 in a.__array_interface__["shape"]:
        return _address(a), _address(a)
    return byte_bounds(a)


class _Arena:
    """A launch's array arguments copied into one buffer for the memcheck (cuda_host.h):
    arguments whose bytes overlap (an output that is an input, views of one array) form a
    group and keep their overlap; each group lies between red zones of RED_ZONE bytes or
    more, at its own address modulo 256 (alignment decides code paths). ``address[i]`` is
    argument i's pointer there; ``extents`` the (lo, hi, i) the kernel may touch;
    ``copy_back()`` writes every group whose bytes the kernel changed back to its home."""

    def __init__(self, arrays: dict):
        spans = sorted((*_extent(a), i) for i, a in arrays.items())
        groups = []  # [lo, hi, [(lo, hi, i), ...]]
        for lo, hi, i in spans:
            if groups and lo < groups[-1][1]:
                groups[-1][1] = max(groups[-1][1], hi)
                groups[-1][2].append((lo, hi, i))
            else:
                groups.append([lo, hi, [(lo, hi, i)]])
        size = sum(hi - lo for lo, hi, _ in groups) + (len(groups) + 1) * (RED_ZONE + 256)
        self.buffer = np.zeros(size, np.uint8)
        base = self.buffer.ctypes.data
        self.lo, self.bytes = base, size
        self.address, self.extents, self._copies = {}, [], []
        at = RED_ZONE
        for lo, hi, members in groups:
            at += (lo - (base + at)) % 256
            ctypes.memmove(base + at, lo, hi - lo)
            self._copies.append((lo, base + at, hi - lo))
            for m_lo, m_hi, i in members:
                self.address[i] = base + at + _address(arrays[i]) - lo
                self.extents.append((base + at + m_lo - lo, base + at + m_hi - lo, i))
            at += hi - lo + RED_ZONE

    def copy_back(self):
        for home, here, n in self._copies:
            if n and ctypes.string_at(here, n) != ctypes.string_at(home, n):
                ctypes.memmove(home, here, n)


class HostRawKernel:
    """One kernel of a :class:`HostRawModule`: ``kernel(grid, block, args, shared_mem=0)``."""

    def __init__(self, lib, symbol, name, max_threads=None, smem_optin=SMEM_OPTIN["90"]):
        self.name = name
        self.max_threads = MAX_THREADS if max_threads is None else max_threads
        self._smem_optin = smem_optin
        self._lib = lib
        self._entry = getattr(lib, symbol)
        self._entry.restype = ctypes.c_int
        sig = ctypes.create_string_buffer(4096)
        self._entry(None, None, ctypes.c_size_t(0), None, ctypes.c_ulonglong(0), sig,
                    ctypes.c_size_t(4096))
        self.params = sig.value.decode().split(",") if sig.value else []
        self.launches = 0
        self.kernel = SimpleNamespace(ptr=0)  # what CUDA's occupancy query reads
        self._max_dynamic_smem = 48 * 1024  # CUDA's default limit

    @property
    def max_dynamic_shared_size_bytes(self) -> int:
        return self._max_dynamic_smem

    @max_dynamic_shared_size_bytes.setter
    def max_dynamic_shared_size_bytes(self, n: int):
        """As CuPy's (cuFuncSetAttribute), which the device refuses above its opt-in limit."""
        if not 0 <= n <= self._smem_optin:
            raise RuntimeError(f"{self.name}: max_dynamic_shared_size_bytes = {n}: the device "
                               f"allows a block at most {self._smem_optin} bytes of shared "
                               "memory (CUDA_ERROR_INVALID_VALUE)")
        self._max_dynamic_smem = n

    def _arg(self, i, want, a):
        where = f"{self.name}: argument {i}"
        if want == "pointer":
            if not hasattr(a, "__array_interface__") or isinstance(a, np.generic):
                raise TypeError(f"{where} is a pointer; got {type(a).__name__} {a!r:.60}")
            ptr = ctypes.c_void_p(_address(a))
            return ctypes.addressof(ptr), (ptr, a)
        if want not in _SCALARS:
            raise TypeError(f"{where} is a {want} parameter, which the host run cannot pass")
        if isinstance(a, (bool, np.bool_)):
            got = np.dtype(bool)
        elif isinstance(a, int):
            got = np.dtype(np.int64)       # CuPy passes a Python int as a 64-bit integer
        elif isinstance(a, float):
            got = np.dtype(np.float64)
        elif isinstance(a, np.generic):
            got = a.dtype
        else:
            raise TypeError(f"{where} is a {want} scalar; got {type(a).__name__}")
        if got != np.dtype(want):
            raise TypeError(f"{where} is {want} in the kernel but {got} was passed "
                            "(on a GPU its bytes would be read as the parameter's)")
        value = np.array(a, dtype=want)
        return value.ctypes.data, value

    def _launch_dims(self, grid, block) -> tuple[tuple, tuple]:
        """``grid`` and ``block`` as CuPy launches them (``cupy.cuda.function.Function``:
        three dims each, every one at least 1, so that a grid of 0 blocks runs one block
        on a GPU), after the check only this side can make: a block no larger than the
        kernel's ``__launch_bounds__`` (cuda_host.h's launch checks CUDA's own limits)."""
        grid, block = (tuple(max(1, int(v)) for v in (tuple(dims) + (1, 1))[:3])
                       for dims in (grid, block))
        threads = block[0] * block[1] * block[2]
        if MAX_THREADS >= threads > self.max_threads:
            raise RuntimeError(f"{self.name}: a block of {threads} threads, more than the "
                               f"kernel's __launch_bounds__ ({self.max_threads}): CUDA "
                               "refuses the launch")
        return grid, block

    def __call__(self, grid, block, args, shared_mem=0, stream=None, seed=0):
        if shared_mem > self.max_dynamic_shared_size_bytes:
            raise RuntimeError(f"{self.name}: {shared_mem} bytes of dynamic shared memory "
                               "without max_dynamic_shared_size_bytes set that high (CUDA "
                               "refuses the launch above 48 KiB unless the kernel opts in)")
        if len(args) != len(self.params):
            raise TypeError(f"{self.name} takes {len(self.params)} arguments "
                            f"({', '.join(self.params)}), got {len(args)}")
        grid, block = self._launch_dims(grid, block)
        held, where = [], []
        for i, (want, a) in enumerate(zip(self.params, args)):
            address, keep = self._arg(i, want, a)
            held.append(keep)  # alive until the launch returns
            where.append(address)
        g = (ctypes.c_uint * 3)(*grid)
        b = (ctypes.c_uint * 3)(*block)
        memcheck = getattr(self._lib, "mg_memcheck", None)  # (a racecheck build's)
        arena = _Arena({i: a for i, (want, a) in enumerate(zip(self.params, args))
                        if want == "pointer"}) if memcheck else None
        if arena:  # each pointer argument now points into the arena
            for i, address in arena.address.items():
                held[i] = (ctypes.c_void_p(address), held[i])
                where[i] = ctypes.addressof(held[i][0])
        values = (ctypes.c_void_p * max(1, len(where)))(*where)
        with _lock:  # the fibers' state is the library's: one launch at a time
            self._lib.mg_set_lead(ctypes.c_int(SCHEDULE == "lead"))
            if arena:
                triples = [v for e in arena.extents for v in e]
                memcheck(ctypes.c_ulonglong(arena.lo), ctypes.c_ulonglong(arena.bytes),
                         (ctypes.c_ulonglong * max(1, len(triples)))(*triples),
                         ctypes.c_int(len(arena.extents)))
            try:
                rc = self._entry(g, b, ctypes.c_size_t(int(shared_mem)), values,
                                 ctypes.c_ulonglong(seed + self.launches), None,
                                 ctypes.c_size_t(0))
            finally:
                if arena:
                    memcheck(ctypes.c_ulonglong(0), ctypes.c_ulonglong(0), None, ctypes.c_int(0))
                    arena.copy_back()
            self.launches += 1
            if rc:
                raise RuntimeError(f"{self.name} (grid {grid}, block {block}) on the host: "
                                   + _source_lines(self._lib, self._lib.mg_error().decode()))


class HostRawModule:
    """``cupy.RawModule(code=..., options=..., name_expressions=...)`` on the host."""

    def __init__(self, code=None, options=(), name_expressions=(), path=None, *,
                 smem_optin=SMEM_OPTIN["90"], **_):
        if code is None:
            raise NotImplementedError("HostRawModule compiles source code, not a cubin "
                                      f"({path})")
        self._lib, self._symbols = _build(code, options, name_expressions or ())
        self._kernels = {}
        self._smem_optin = smem_optin

    def get_function(self, name):
        kernel = self._kernels.get(name)
        if kernel is None:
            if name not in self._symbols:
                raise KeyError(f"no kernel {name!r} in this module (it has "
                               f"{', '.join(self._symbols)})")
            symbol, max_threads = self._symbols[name]
            kernel = self._kernels[name] = HostRawKernel(self._lib, symbol, name, max_threads,
                                                         self._smem_optin)
        return kernel


def poison(a: np.ndarray) -> np.ndarray:
    """``a`` with every byte 0xff, as cuda_host.h starts shared memory: NaN for floats, -1
    for signed integers, the largest value for unsigned ones (booleans: True). What reads an
    element nothing wrote shows, here as on a GPU, where it would read the pool's leftovers
    (compute-sanitizer's initcheck, for the host run's arrays)."""
    if a.dtype == np.bool_:
        a.fill(True)
    elif a.size:
        a.ravel(order="K").view(np.uint8)[...] = 0xFF  # a view: empty arrays are contiguous
    return a


class _HostCupy:
    """``minigrad._backend.cupy()`` for kernels/_cuda.py's launchers on NumPy arrays: NumPy
    for the array functions, :class:`HostRawModule` for ``RawModule``, and a small device
    (4 SMs, 2 resident blocks an SM) so that a persistent grid is a few blocks that each
    walk many rows. Its compute capability is ``cc``: "80" (:data:`HOST_CUPY`, the mma.sync
    paths) or "90" (:data:`HOST_CUPY_SM90`, which the Hopper wgmma launchers ask for)."""

    SMS, BLOCKS_PER_SM = 4, 2

    def __init__(self, cc: str = "80"):
        self.cc = cc
        self.cuda = SimpleNamespace(
            runtime=SimpleNamespace(getDevice=lambda: 0),
            Device=lambda *a: SimpleNamespace(attributes={"MultiProcessorCount": self.SMS},
                                              compute_capability=cc, id=0),
            driver=SimpleNamespace(
                occupancyMaxActiveBlocksPerMultiprocessor=lambda *a: self.BLOCKS_PER_SM))

    def RawModule(self, *args, **kwargs):
        """:class:`HostRawModule`, its kernels' shared memory limited as on this device."""
        return HostRawModule(*args, smem_optin=SMEM_OPTIN[self.cc], **kwargs)

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def empty(*args, **kwargs):
        """``np.empty``, poisoned (:func:`poison`): CuPy's comes from its memory pool, holding
        whatever the last owner left; NumPy's is often zeros."""
        return poison(np.empty(*args, **kwargs))

    @staticmethod
    def empty_like(*args, **kwargs):
        """``np.empty_like``, poisoned, as :meth:`empty`."""
        return poison(np.empty_like(*args, **kwargs))

    @staticmethod
    def asnumpy(a):
        return np.asarray(a)


HOST_CUPY = _HostCupy()
HOST_CUPY_SM90 = _HostCupy("90")


def is_host(cp) -> bool:
    """Whether ``cp`` is one of the host run's array modules."""
    return isinstance(cp, _HostCupy)


def host_launchers(monkeypatch, cupy: _HostCupy = HOST_CUPY):
    """Make minigrad.kernels' launchers (and minigrad's own RawModule users) run their
    CUDA kernels on the host, on NumPy arrays, for the rest of a test: ``_backend.cupy()``
    is ``cupy`` (:data:`HOST_CUPY`, or :data:`HOST_CUPY_SM90` for the wgmma kernels), a
    NumPy array counts as a device array, the sm_90a modules are built from source for the
    host instead of by NVRTC into a cubin, and the kernel caches start empty (so no host
    kernel outlives the test)."""
    import functools

    from minigrad.kernels import _cuda

    from minigrad import _backend
    from minigrad.ops import fused

    monkeypatch.setattr(_backend, "cupy", lambda: cupy)
    monkeypatch.setattr(_cuda, "_is_sm90", lambda device: cupy.cc == "90")
    monkeypatch.setattr(_cuda, "_sm90a_module", lambda cp, source, filename, options:
                        cp.RawModule(code=source, options=options))
    monkeypatch.setattr(_cuda, "_is_cupy", lambda a: isinstance(a, np.ndarray))
    for cache in ("_kernels", "_modules", "_resident"):
        monkeypatch.setattr(_cuda, cache, {})
    monkeypatch.setattr(fused, "_row_module", functools.cache(fused._row_module.__wrapped__))
    # use_vendor(): cuSPARSE (cupyx.scipy.sparse) is SciPy's sparse module here
    from types import ModuleType

    import scipy.sparse

    cupyx, cupyx_scipy = ModuleType("cupyx"), ModuleType("cupyx.scipy")
    cupyx.scipy, cupyx_scipy.sparse = cupyx_scipy, scipy.sparse
    for name, module in (("cupyx", cupyx), ("cupyx.scipy", cupyx_scipy),
                         ("cupyx.scipy.sparse", scipy.sparse)):
        monkeypatch.setitem(sys.modules, name, module)
