"""minigrad: a from-scratch autograd tensor engine on NumPy (CPU) and CuPy (GPU).

The top-level ``kernels/`` folder (CUDA C++ sources and Numba kernels) is installed as the
subpackage ``minigrad.kernels``; its ``*.cu`` files travel as package data.
"""
from setuptools import find_packages, setup

packages = find_packages(include=["minigrad", "minigrad.*"]) + ["minigrad.kernels"]

setup(
    name="minigrad",
    version="0.1.0",
    description="A from-scratch autograd tensor engine on NumPy and CuPy, written to be read",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=packages,
    package_dir={"minigrad.kernels": "kernels"},
    package_data={"minigrad.kernels": ["*.cu", "*.cuh", "README.md"],
                  "minigrad.data": ["*.gz", "*.txt"]},
    install_requires=["numpy>=1.24", "numba>=0.58", "tqdm>=4.60"],
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3", "hypothesis>=6.80", "scipy>=1.10",
                 "ml_dtypes>=0.3",
                 "threadpoolctl>=3"],  # mg.set_num_threads is tested, not skipped
        "plot": ["matplotlib>=3.6"],
        "cuda": ["cupy-cuda12x>=13"],
        "mpi": ["mpi4py>=3.1", "mpich"],
        # NVRTC (the compiler CuPy uses at run time) without a GPU: the tests compile every
        # kernel with it, as the launchers do, sm_90a included.
        "nvrtc": ['nvidia-cuda-nvrtc>=13.0,<13.1; platform_system == "Linux"'],
    },
    entry_points={"console_scripts": ["minigrad=minigrad.__main__:main"]},
    license="MIT",
)
