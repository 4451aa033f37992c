"""The index: the on-disk version format, the engines and the build (docs/architecture.md)."""
