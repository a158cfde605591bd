"""Go Sidecar: a language-server sidecar in front of gopls."""

__version__ = "0.1.0"
