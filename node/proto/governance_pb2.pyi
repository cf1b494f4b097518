from node.proto import catalog_pb2 as _catalog_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ElementSource(_message.Message):
    __slots__ = ("scope", "department_code", "department_name")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    scope: str
    department_code: str
    department_name: str
    def __init__(self, scope: _Optional[str] = ..., department_code: _Optional[str] = ..., department_name: _Optional[str] = ...) -> None: ...

class DataElement(_message.Message):
    __slots__ = ("name", "type", "rule", "synonyms", "description", "sources")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    SYNONYMS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    rule: str
    synonyms: _containers.RepeatedScalarFieldContainer[str]
    description: str
    sources: _containers.RepeatedCompositeFieldContainer[ElementSource]
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., rule: _Optional[str] = ..., synonyms: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., sources: _Optional[_Iterable[_Union[ElementSource, _Mapping]]] = ...) -> None: ...

class ElementRegistry(_message.Message):
    __slots__ = ("version", "elements")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    version: int
    elements: _containers.RepeatedCompositeFieldContainer[DataElement]
    def __init__(self, version: _Optional[int] = ..., elements: _Optional[_Iterable[_Union[DataElement, _Mapping]]] = ...) -> None: ...

class GetElementsRequest(_message.Message):
    __slots__ = ("known_version",)
    KNOWN_VERSION_FIELD_NUMBER: _ClassVar[int]
    known_version: int
    def __init__(self, known_version: _Optional[int] = ...) -> None: ...

class PutElementRequest(_message.Message):
    __slots__ = ("element",)
    ELEMENT_FIELD_NUMBER: _ClassVar[int]
    element: DataElement
    def __init__(self, element: _Optional[_Union[DataElement, _Mapping]] = ...) -> None: ...

class DuplicatesRequest(_message.Message):
    __slots__ = ("provider_code", "resource_code")
    PROVIDER_CODE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    provider_code: str
    resource_code: str
    def __init__(self, provider_code: _Optional[str] = ..., resource_code: _Optional[str] = ...) -> None: ...

class DuplicateCollection(_message.Message):
    __slots__ = ("resource_code", "provider_code", "provider_name", "item", "element", "source_code", "source_name")
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_CODE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_NAME_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    ELEMENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    resource_code: str
    provider_code: str
    provider_name: str
    item: str
    element: str
    source_code: str
    source_name: str
    def __init__(self, resource_code: _Optional[str] = ..., provider_code: _Optional[str] = ..., provider_name: _Optional[str] = ..., item: _Optional[str] = ..., element: _Optional[str] = ..., source_code: _Optional[str] = ..., source_name: _Optional[str] = ...) -> None: ...

class DuplicatesResponse(_message.Message):
    __slots__ = ("duplicates", "registry_version")
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_VERSION_FIELD_NUMBER: _ClassVar[int]
    duplicates: _containers.RepeatedCompositeFieldContainer[DuplicateCollection]
    registry_version: int
    def __init__(self, duplicates: _Optional[_Iterable[_Union[DuplicateCollection, _Mapping]]] = ..., registry_version: _Optional[int] = ...) -> None: ...

class CheckDataRequest(_message.Message):
    __slots__ = ("resource_code",)
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    resource_code: str
    def __init__(self, resource_code: _Optional[str] = ...) -> None: ...

class CheckDataResponse(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: _catalog_pb2.Entry
    def __init__(self, entry: _Optional[_Union[_catalog_pb2.Entry, _Mapping]] = ...) -> None: ...
