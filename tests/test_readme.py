"""The docs say what the code does: docs/access.md's authorization table is the policy's own."""

from conftest import ROOT
from node.security import authz


def test_readme_authorization_table_is_the_policy():
    assert authz.table() in (ROOT / "docs" / "access.md").read_text(encoding="utf-8")
