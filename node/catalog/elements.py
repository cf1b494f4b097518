"""The registry of data elements at a node, kept in its SQLite file (meta), so that a node that
has not heard from its hub keeps the last registry it had: at the hub the operator changes it
(starting from the bundled default, elements.yaml, at the hub's first start); elsewhere the node
takes each newer version its hub serves (node/source/elements.py)."""

from __future__ import annotations

import importlib.resources
import threading

import orjson
import yaml

from node.model import elements
from node.model.elements import Element, Registry
from node.store import Store

META_KEY = "elements"
DEFAULT = "elements.yaml"


def bundled_default() -> Registry:
    """The registry shipped with the package, at version 1."""
    text = importlib.resources.files("node.catalog").joinpath(DEFAULT).read_text(encoding="utf-8")
    registry = Registry(0)
    for raw in yaml.safe_load(text)["elements"]:
        element = elements.element_from_mapping(raw)
        elements.validate_element(element, registry)
        registry = registry.with_element(element)
    return Registry(1, registry.elements)


class ElementRegistry:
    """The node's copy of the registry: read once from the store, then kept in memory and
    written through, under one lock (writes are rare: an operator's change, a new version)."""

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        raw = store.meta(META_KEY)
        self._registry = elements.registry_from_mapping(orjson.loads(raw)) if raw else Registry(0)

    def current(self) -> Registry:
        return self._registry

    def version(self) -> int:
        return self._registry.version

    def seed_default(self) -> bool:
        """At the hub's first start: the bundled default, if the node holds no registry yet."""
        with self._lock:
            if self._registry.version:
                return False
            self._write(bundled_default())
            return True

    def add(self, element: Element) -> Registry:
        """The operator's change at the hub: the element added, or replacing the one of its
        name, as the next version. Raises InvalidElement (nothing changed) for a bad element."""
        with self._lock:
            elements.validate_element(element, self._registry)
            registry = self._registry.with_element(element)
            self._write(registry)
            return registry

    def take(self, registry: Registry) -> bool:
        """A version from the hub, taken only if newer than the one held (a late or repeated
        reply changes nothing)."""
        with self._lock:
            if registry.version <= self._registry.version:
                return False
            self._write(registry)
            return True

    def _write(self, registry: Registry) -> None:
        with self.store.transaction() as tx:
            tx.set_meta(META_KEY, orjson.dumps(elements.registry_to_mapping(registry)).decode())
            tx.record("elements", [f"version {registry.version}"])
        self._registry = registry
