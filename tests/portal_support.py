"""What the portal's tests share: a node holding a small catalog with every share and open
type, the portal in front of it (in-process, or served by uvicorn on a free loopback port), and
a check that every form control has a label."""

from __future__ import annotations

import html.parser
import threading
import time

from conftest import make_entry
from node import wire
from node.model.rules import DataItem
from node.proto import catalog_pb2

SOCIAL = (DataItem("个人社保编号", "string", 20), DataItem("公民身份号码", "string", 18, key=True, personal="id_number"),
          DataItem("参保单位", "string", 200), DataItem("缴费基数", "decimal", 12))


def small_catalog() -> list:
    """45 entries: 30 of department 130100005 (社保 ones among them), 15 of 130000001; open types cycle."""
    entries = []
    opens = ("open", "conditional_open", "not_open")
    shares = ("unconditional", "conditional", "not_shared")
    for i in range(1, 31):
        share = shares[i % 3]
        entries.append(make_entry(
            "130100005", seq=i, name=f"职工养老保险参保信息{i}" if i % 2 else f"企业法人登记信息{i}",
            summary="社保领域数据：参保与缴费记录" if i % 2 else "全省企业法人的登记信息",
            data_items=SOCIAL if i % 2 else make_entry().data_items, share_type=share,
            share_condition="须说明办理事项及法定依据" if share == "conditional" else "",
            not_shared_basis="《中华人民共和国个人信息保护法》第十三条" if share == "not_shared" else "",
            open_type=opens[i % 3], update_cycle="monthly" if i % 4 else "daily", keywords=("社保",) if i % 2 else ("企业",)))
    for i in range(1, 16):
        entries.append(make_entry("130000001", seq=i, name=f"机动车登记信息{i}", category="theme",
                                  open_type=opens[i % 3], provider_name="河北省公安厅"))
    return entries


def publish_all(client, entries) -> None:
    client.catalog.PublishEntries(iter([catalog_pb2.PublishEntriesRequest(
        entries=[wire.entry_to_proto(e) for e in entries])]))


class LabelCheck(html.parser.HTMLParser):
    """Collects form controls that no <label for=...> names (hidden inputs and buttons excepted)."""

    def __init__(self):
        super().__init__()
        self.controls: list[tuple[str, str]] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label" and attrs.get("for"):
            self.labelled.add(attrs["for"])
        if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            self.controls.append((tag, attrs.get("id") or ""))

    def unlabelled(self, page: str) -> list[tuple[str, str]]:
        self.feed(page)
        return [(tag, id_) for tag, id_ in self.controls if not id_ or id_ not in self.labelled]


class Served:
    """The portal app served by uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, app):
        import uvicorn

        from portal.server import bind

        self.sock = bind("127.0.0.1:0")
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                                    timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the portal did not start within 10 s")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
