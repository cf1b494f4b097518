import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from node.proto import catalog_pb2 as _catalog_pb2
from node.proto import corrections_pb2 as _corrections_pb2
from node.proto import sharing_pb2 as _sharing_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Cursor(_message.Message):
    __slots__ = ("epoch", "seq")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    epoch: str
    seq: int
    def __init__(self, epoch: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class Change(_message.Message):
    __slots__ = ("seq", "kind", "key", "version", "op", "at")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    seq: int
    kind: str
    key: str
    version: int
    op: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, seq: _Optional[int] = ..., kind: _Optional[str] = ..., key: _Optional[str] = ..., version: _Optional[int] = ..., op: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PullChangesRequest(_message.Message):
    __slots__ = ("cursor", "max_batch", "elements_version", "entry_rows", "without_changes")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    ELEMENTS_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ROWS_FIELD_NUMBER: _ClassVar[int]
    WITHOUT_CHANGES_FIELD_NUMBER: _ClassVar[int]
    cursor: Cursor
    max_batch: int
    elements_version: int
    entry_rows: bool
    without_changes: bool
    def __init__(self, cursor: _Optional[_Union[Cursor, _Mapping]] = ..., max_batch: _Optional[int] = ..., elements_version: _Optional[int] = ..., entry_rows: _Optional[bool] = ..., without_changes: _Optional[bool] = ...) -> None: ...

class ChangeBatch(_message.Message):
    __slots__ = ("changes", "entries", "next", "head_seq", "last", "live_entries", "requests", "corrections", "entry_rows")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    LIVE_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    CORRECTIONS_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ROWS_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[Change]
    entries: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.Entry]
    next: Cursor
    head_seq: int
    last: bool
    live_entries: int
    requests: _containers.RepeatedCompositeFieldContainer[_sharing_pb2.SharingRequest]
    corrections: _containers.RepeatedCompositeFieldContainer[_corrections_pb2.Correction]
    entry_rows: bytes
    def __init__(self, changes: _Optional[_Iterable[_Union[Change, _Mapping]]] = ..., entries: _Optional[_Iterable[_Union[_catalog_pb2.Entry, _Mapping]]] = ..., next: _Optional[_Union[Cursor, _Mapping]] = ..., head_seq: _Optional[int] = ..., last: _Optional[bool] = ..., live_entries: _Optional[int] = ..., requests: _Optional[_Iterable[_Union[_sharing_pb2.SharingRequest, _Mapping]]] = ..., corrections: _Optional[_Iterable[_Union[_corrections_pb2.Correction, _Mapping]]] = ..., entry_rows: _Optional[bytes] = ...) -> None: ...

class SnapshotRequest(_message.Message):
    __slots__ = ("after_code", "max_batch", "entry_rows")
    AFTER_CODE_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ROWS_FIELD_NUMBER: _ClassVar[int]
    after_code: str
    max_batch: int
    entry_rows: bool
    def __init__(self, after_code: _Optional[str] = ..., max_batch: _Optional[int] = ..., entry_rows: _Optional[bool] = ...) -> None: ...

class SnapshotBatch(_message.Message):
    __slots__ = ("entries", "after_code", "range_end", "done", "cursor", "entry_rows")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    AFTER_CODE_FIELD_NUMBER: _ClassVar[int]
    RANGE_END_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ROWS_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_catalog_pb2.Entry]
    after_code: str
    range_end: str
    done: bool
    cursor: Cursor
    entry_rows: bytes
    def __init__(self, entries: _Optional[_Iterable[_Union[_catalog_pb2.Entry, _Mapping]]] = ..., after_code: _Optional[str] = ..., range_end: _Optional[str] = ..., done: _Optional[bool] = ..., cursor: _Optional[_Union[Cursor, _Mapping]] = ..., entry_rows: _Optional[bytes] = ...) -> None: ...

class DigestRequest(_message.Message):
    __slots__ = ("origin", "code_from", "code_to")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    CODE_FROM_FIELD_NUMBER: _ClassVar[int]
    CODE_TO_FIELD_NUMBER: _ClassVar[int]
    origin: str
    code_from: str
    code_to: str
    def __init__(self, origin: _Optional[str] = ..., code_from: _Optional[str] = ..., code_to: _Optional[str] = ...) -> None: ...

class Digest(_message.Message):
    __slots__ = ("count", "hash", "epoch", "seq")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    count: int
    hash: str
    epoch: str
    seq: int
    def __init__(self, count: _Optional[int] = ..., hash: _Optional[str] = ..., epoch: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class NotifyRequest(_message.Message):
    __slots__ = ("node_id", "head")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    head: Cursor
    def __init__(self, node_id: _Optional[str] = ..., head: _Optional[_Union[Cursor, _Mapping]] = ...) -> None: ...

class NotifyResponse(_message.Message):
    __slots__ = ("accepted",)
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    def __init__(self, accepted: _Optional[bool] = ...) -> None: ...
