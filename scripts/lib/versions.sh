# Pinned versions of everything the set-up installs. One place to bump them.
GOPLS_VERSION="v0.24.0"  # the current release; needs Go >= 1.27 (fetched with GOTOOLCHAIN=auto)
GOPLS_OLDEST_VERSION="v0.23.0"  # the oldest gopls the tests run against (tests/reach/gopls_ends.py)
LLAMA_CPP_PYTHON_VERSION="0.3.36"
CODE_SERVER_VERSION="4.139.1"
NODE24_VERSION="24.21.0"
