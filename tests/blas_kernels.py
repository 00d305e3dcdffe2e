"""The OpenBLAS kernels this CPU can run, for ``make test-kernels``.

NumPy's OpenBLAS picks its kernels (Haswell, SkylakeX, Zen, ...) when it
loads, from the CPU or from ``OPENBLAS_CORETYPE``; each sums in its own
order. ``make test-kernels`` runs the float comparisons (``-m numerics``)
under every kernel printed here, so that a tolerance which holds for one
kernel only fails there, not on a user's machine.

    python -m tests.blas_kernels     # one name a line; none off x86-64 Linux
"""

import platform

#: Kernel -> the CPU flags (as /proc/cpuinfo names them) its code needs:
#: Intel's and AMD's AVX-512, AVX2, AVX and SSE generations.
KERNELS = {
    'SkylakeX': {'avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'},
    'Haswell': {'avx2', 'fma'},
    'Zen': {'avx2', 'fma'},
    'Sandybridge': {'avx'},
    'Nehalem': {'sse4_2'},
    'Prescott': {'pni'},
}


def cpu_flags(path='/proc/cpuinfo'):
    """The flags of the first CPU in ``path``, or an empty set."""
    try:
        with open(path, encoding='utf-8') as f:
            for line in f:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


def runnable(flags=None):
    """The kernels of :data:`KERNELS` whose flags this CPU has."""
    if platform.machine() not in ('x86_64', 'AMD64'):
        return []
    flags = cpu_flags() if flags is None else flags
    return [name for name, needs in KERNELS.items() if needs <= flags]


if __name__ == '__main__':
    for name in runnable():
        print(name)
