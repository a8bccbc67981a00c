"""What both the workstation (companion/) and the collector (collector/) use that belongs to
neither: today the PDF helper and the CJK font it embeds (mailwarden_common.pdf). It imports
nothing of the product's other packages (tests/test_architecture.py)."""
