//! Conformance: `berth config --format json` against `docker compose config --format json`.
