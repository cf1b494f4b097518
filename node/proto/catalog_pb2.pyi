import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataItem(_message.Message):
    __slots__ = ("name", "type", "length", "description", "element", "key", "personal")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ELEMENT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    PERSONAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    length: int
    description: str
    element: str
    key: bool
    personal: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., length: _Optional[int] = ..., description: _Optional[str] = ..., element: _Optional[str] = ..., key: _Optional[bool] = ..., personal: _Optional[str] = ...) -> None: ...

class ItemQuality(_message.Message):
    __slots__ = ("item", "element", "rule", "failed", "empty")
    ITEM_FIELD_NUMBER: _ClassVar[int]
    ELEMENT_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    EMPTY_FIELD_NUMBER: _ClassVar[int]
    item: str
    element: str
    rule: str
    failed: int
    empty: int
    def __init__(self, item: _Optional[str] = ..., element: _Optional[str] = ..., rule: _Optional[str] = ..., failed: _Optional[int] = ..., empty: _Optional[int] = ...) -> None: ...

class Quality(_message.Message):
    __slots__ = ("score", "checked_at", "rows", "items")
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    score: float
    checked_at: _timestamp_pb2.Timestamp
    rows: int
    items: _containers.RepeatedCompositeFieldContainer[ItemQuality]
    def __init__(self, score: _Optional[float] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rows: _Optional[int] = ..., items: _Optional[_Iterable[_Union[ItemQuality, _Mapping]]] = ...) -> None: ...

class Entry(_message.Message):
    __slots__ = ("resource_code", "name", "summary", "provider_code", "provider_name", "region_code", "category", "data_items", "share_type", "share_condition", "not_shared_basis", "share_method", "open_type", "update_cycle", "source_system", "keywords", "published_at", "updated_at", "origin", "version", "withdrawn", "derived_from", "quality")
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_CODE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    DATA_ITEMS_FIELD_NUMBER: _ClassVar[int]
    SHARE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHARE_CONDITION_FIELD_NUMBER: _ClassVar[int]
    NOT_SHARED_BASIS_FIELD_NUMBER: _ClassVar[int]
    SHARE_METHOD_FIELD_NUMBER: _ClassVar[int]
    OPEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_CYCLE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    DERIVED_FROM_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    resource_code: str
    name: str
    summary: str
    provider_code: str
    provider_name: str
    region_code: str
    category: str
    data_items: _containers.RepeatedCompositeFieldContainer[DataItem]
    share_type: str
    share_condition: str
    not_shared_basis: str
    share_method: str
    open_type: str
    update_cycle: str
    source_system: str
    keywords: _containers.RepeatedScalarFieldContainer[str]
    published_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    origin: str
    version: int
    withdrawn: bool
    derived_from: str
    quality: Quality
    def __init__(self, resource_code: _Optional[str] = ..., name: _Optional[str] = ..., summary: _Optional[str] = ..., provider_code: _Optional[str] = ..., provider_name: _Optional[str] = ..., region_code: _Optional[str] = ..., category: _Optional[str] = ..., data_items: _Optional[_Iterable[_Union[DataItem, _Mapping]]] = ..., share_type: _Optional[str] = ..., share_condition: _Optional[str] = ..., not_shared_basis: _Optional[str] = ..., share_method: _Optional[str] = ..., open_type: _Optional[str] = ..., update_cycle: _Optional[str] = ..., source_system: _Optional[str] = ..., keywords: _Optional[_Iterable[str]] = ..., published_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., origin: _Optional[str] = ..., version: _Optional[int] = ..., withdrawn: _Optional[bool] = ..., derived_from: _Optional[str] = ..., quality: _Optional[_Union[Quality, _Mapping]] = ...) -> None: ...

class EntryFilter(_message.Message):
    __slots__ = ("provider_code", "region_code", "category", "share_type", "update_cycle", "updated_since", "origin", "open_type")
    PROVIDER_CODE_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SHARE_TYPE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_CYCLE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_SINCE_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    OPEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    provider_code: str
    region_code: str
    category: str
    share_type: str
    update_cycle: str
    updated_since: _timestamp_pb2.Timestamp
    origin: str
    open_type: str
    def __init__(self, provider_code: _Optional[str] = ..., region_code: _Optional[str] = ..., category: _Optional[str] = ..., share_type: _Optional[str] = ..., update_cycle: _Optional[str] = ..., updated_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., origin: _Optional[str] = ..., open_type: _Optional[str] = ...) -> None: ...

class PublishEntryRequest(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: Entry
    def __init__(self, entry: _Optional[_Union[Entry, _Mapping]] = ...) -> None: ...

class PublishEntriesRequest(_message.Message):
    __slots__ = ("entry", "entries")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entry: Entry
    entries: _containers.RepeatedCompositeFieldContainer[Entry]
    def __init__(self, entry: _Optional[_Union[Entry, _Mapping]] = ..., entries: _Optional[_Iterable[_Union[Entry, _Mapping]]] = ...) -> None: ...

class PublishEntryResponse(_message.Message):
    __slots__ = ("entry", "created", "outcome", "suggestions")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    entry: Entry
    created: bool
    outcome: str
    suggestions: _containers.RepeatedCompositeFieldContainer[ElementSuggestion]
    def __init__(self, entry: _Optional[_Union[Entry, _Mapping]] = ..., created: _Optional[bool] = ..., outcome: _Optional[str] = ..., suggestions: _Optional[_Iterable[_Union[ElementSuggestion, _Mapping]]] = ...) -> None: ...

class ElementSuggestion(_message.Message):
    __slots__ = ("item", "element")
    ITEM_FIELD_NUMBER: _ClassVar[int]
    ELEMENT_FIELD_NUMBER: _ClassVar[int]
    item: str
    element: str
    def __init__(self, item: _Optional[str] = ..., element: _Optional[str] = ...) -> None: ...

class PublishEntriesResponse(_message.Message):
    __slots__ = ("created", "updated", "unchanged")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    created: int
    updated: int
    unchanged: int
    def __init__(self, created: _Optional[int] = ..., updated: _Optional[int] = ..., unchanged: _Optional[int] = ...) -> None: ...

class WithdrawEntryRequest(_message.Message):
    __slots__ = ("resource_code",)
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    resource_code: str
    def __init__(self, resource_code: _Optional[str] = ...) -> None: ...

class GetEntryRequest(_message.Message):
    __slots__ = ("resource_code",)
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    resource_code: str
    def __init__(self, resource_code: _Optional[str] = ...) -> None: ...

class ListEntriesRequest(_message.Message):
    __slots__ = ("filter", "page_size", "page_token", "with_total", "with_facets")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    WITH_TOTAL_FIELD_NUMBER: _ClassVar[int]
    WITH_FACETS_FIELD_NUMBER: _ClassVar[int]
    filter: EntryFilter
    page_size: int
    page_token: str
    with_total: bool
    with_facets: bool
    def __init__(self, filter: _Optional[_Union[EntryFilter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., with_total: _Optional[bool] = ..., with_facets: _Optional[bool] = ...) -> None: ...

class ListEntriesResponse(_message.Message):
    __slots__ = ("entries", "next_page_token", "total", "total_is_lower_bound", "facets")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TOTAL_IS_LOWER_BOUND_FIELD_NUMBER: _ClassVar[int]
    FACETS_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[Entry]
    next_page_token: str
    total: int
    total_is_lower_bound: bool
    facets: _containers.RepeatedCompositeFieldContainer[FacetCount]
    def __init__(self, entries: _Optional[_Iterable[_Union[Entry, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total: _Optional[int] = ..., total_is_lower_bound: _Optional[bool] = ..., facets: _Optional[_Iterable[_Union[FacetCount, _Mapping]]] = ...) -> None: ...

class FacetCount(_message.Message):
    __slots__ = ("field", "value", "count", "count_is_lower_bound")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    COUNT_IS_LOWER_BOUND_FIELD_NUMBER: _ClassVar[int]
    field: str
    value: str
    count: int
    count_is_lower_bound: bool
    def __init__(self, field: _Optional[str] = ..., value: _Optional[str] = ..., count: _Optional[int] = ..., count_is_lower_bound: _Optional[bool] = ...) -> None: ...

class SearchEntriesRequest(_message.Message):
    __slots__ = ("query", "filter", "page_size", "page_token", "with_facets")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    WITH_FACETS_FIELD_NUMBER: _ClassVar[int]
    query: str
    filter: EntryFilter
    page_size: int
    page_token: str
    with_facets: bool
    def __init__(self, query: _Optional[str] = ..., filter: _Optional[_Union[EntryFilter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., with_facets: _Optional[bool] = ...) -> None: ...

class SearchEntriesResponse(_message.Message):
    __slots__ = ("entries", "next_page_token", "total", "total_is_lower_bound", "facets")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TOTAL_IS_LOWER_BOUND_FIELD_NUMBER: _ClassVar[int]
    FACETS_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[Entry]
    next_page_token: str
    total: int
    total_is_lower_bound: bool
    facets: _containers.RepeatedCompositeFieldContainer[FacetCount]
    def __init__(self, entries: _Optional[_Iterable[_Union[Entry, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total: _Optional[int] = ..., total_is_lower_bound: _Optional[bool] = ..., facets: _Optional[_Iterable[_Union[FacetCount, _Mapping]]] = ...) -> None: ...
