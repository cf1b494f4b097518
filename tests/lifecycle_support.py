"""Requests in each state a step of the sharing lifecycle starts from (docs/sharing.md), made
through a node's domain so that the calls themselves are what a test tries: for the rule cases of
tests/test_authz_rules.py (tests/security_support.py's `world`)."""

from __future__ import annotations

import dataclasses


def lifecycle_world(sharing, ask, *, owner: str, consumer: str) -> dict[str, str]:
    """Request ids by the step they wait for: `ask()` files the consumer's request for the owner's
    conditional entry (pending); the owner refuses, the consumer objects, the data authority
    (the consumer, here) reviews."""

    def refused() -> str:
        made = ask().request_id
        sharing.decide(made, owner, False, "不符合共享条件")
        return made

    objected = refused()
    sharing.object(objected, consumer, "依据充分")
    settings = sharing.authority.settings
    sharing.authority = dataclasses.replace(sharing.authority, settings=dataclasses.replace(settings, review=True))
    try:
        in_review = [ask_in_review(sharing, owner, consumer) for _ in range(2)]
    finally:
        sharing.authority = dataclasses.replace(sharing.authority, settings=settings)
    sharing.review(in_review[1], consumer, False, "依据不明确")
    return dict(to_extend=ask().request_id, to_object=refused(), to_coordinate=objected, to_review=in_review[0],
                to_resubmit=in_review[1])


def ask_in_review(sharing, owner: str, consumer: str) -> str:
    made = sharing.submit(consumer, f"{owner}/000002", "办理企业开办", "《优化营商环境条例》", ["企业名称"])
    assert made.state == "review", made
    return made.request_id
