"""ATS domain package: shared by every function (HTTP views, relay, worker, CLI)."""
