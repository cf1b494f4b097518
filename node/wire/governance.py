"""Data elements, their registry and duplicate collections (protos/node/proto/governance.proto)
to and from their plain data (node/model/elements.py): part of the one codec, node/wire."""

from __future__ import annotations

import dataclasses

from node.model.elements import Duplicate, Element, Registry, Source
from node.proto import governance_pb2


def element_to_proto(element: Element, msg: governance_pb2.DataElement | None = None) -> governance_pb2.DataElement:
    msg = governance_pb2.DataElement() if msg is None else msg
    msg.name, msg.type, msg.rule, msg.description = element.name, element.type, element.rule, element.description
    msg.synonyms.extend(element.synonyms)
    for s in element.sources:
        msg.sources.add(scope=s.scope, department_code=s.department_code, department_name=s.department_name)
    return msg


def element_from_proto(msg: governance_pb2.DataElement) -> Element:
    return Element(name=msg.name, type=msg.type, rule=msg.rule, synonyms=tuple(msg.synonyms),
                   description=msg.description,
                   sources=tuple(Source(s.scope, s.department_code, s.department_name) for s in msg.sources))


def registry_to_proto(registry: Registry, with_elements: bool = True) -> governance_pb2.ElementRegistry:
    reply = governance_pb2.ElementRegistry(version=registry.version)
    if with_elements:
        for element in registry.elements:
            element_to_proto(element, reply.elements.add())
    return reply


def registry_from_proto(msg: governance_pb2.ElementRegistry) -> Registry:
    return Registry(msg.version, tuple(element_from_proto(e) for e in msg.elements))


def duplicate_to_proto(duplicate: Duplicate, msg: governance_pb2.DuplicateCollection) -> None:
    for field in dataclasses.fields(duplicate):
        setattr(msg, field.name, getattr(duplicate, field.name))
