"""The README says what the code does: its authorization table is the policy's own."""

from conftest import ROOT
from node.security import authz


def test_readme_authorization_table_is_the_policy():
    assert authz.table() in (ROOT / "README.md").read_text(encoding="utf-8")
