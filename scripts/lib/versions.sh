# Pinned versions of everything the set-up installs. One place to bump them.
GOPLS_VERSION="v0.23.0"  # v0.24 needs go >= 1.27; this machine has 1.26
LLAMA_CPP_PYTHON_VERSION="0.3.36"
CODE_SERVER_VERSION="4.139.1"
NODE24_VERSION="24.21.0"
