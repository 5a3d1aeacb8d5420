"""Reproducible SIP benchmarks of pbxd against reference peers (see README.md)."""
