# Pinned versions of everything the set-up installs, and the flags llama.cpp is built
# with. One place to bump them.
GOPLS_VERSION="v0.24.0"  # the current release; needs Go >= 1.27 (fetched with GOTOOLCHAIN=auto)
GOPLS_OLDEST_VERSION="v0.23.0"  # the oldest gopls the tests run against (tests/reach/gopls_ends.py)
LLAMA_CPP_PYTHON_VERSION="0.3.36"
CODE_SERVER_VERSION="4.139.1"
NODE24_VERSION="24.21.0"
PLAYWRIGHT_CORE_VERSION="1.65.1"

# llama.cpp's CPU flags, the same for the llama-cpp-python wheel (scripts/lib/setup.sh)
# and llama-server (scripts/lib/llama_server.sh), so the completion bench compares the
# servers, not the compilers. Portable (no -march=native, AVX2 baseline): the wheel ships
# in the .vsix. The cached wheel and server are keyed by LLAMA_CPP_PYTHON_VERSION and the
# patches' digest (scripts/lib/llama_sources.sh) only: after a change of these flags,
# delete them from the cache to rebuild.
# shellcheck disable=SC2034 # used by the scripts that source this file
LLAMA_CPP_CMAKE_FLAGS=(
  -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAMA_CURL=OFF
)
