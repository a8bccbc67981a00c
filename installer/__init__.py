"""The Windows MSI, built on Linux by installer/build.py (docs/deploy.md): runtime.py (steps 1-3),
staging.py (step 4), wix.py (step 5), common.py (what they share)."""
