import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from node.proto import sharing_pb2 as _sharing_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Correction(_message.Message):
    __slots__ = ("correction_id", "filer_code", "filer_node", "resource_code", "owner_code", "owner_node", "data_items", "kind", "evidence", "key_items", "sealed_key", "state", "reason", "version", "created_at", "updated_at", "deadline", "overdue", "history", "at_node", "signer", "signature", "signer_cert", "key")
    class KeyEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    FILER_CODE_FIELD_NUMBER: _ClassVar[int]
    FILER_NODE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    OWNER_CODE_FIELD_NUMBER: _ClassVar[int]
    OWNER_NODE_FIELD_NUMBER: _ClassVar[int]
    DATA_ITEMS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    KEY_ITEMS_FIELD_NUMBER: _ClassVar[int]
    SEALED_KEY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    AT_NODE_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIGNER_CERT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    correction_id: str
    filer_code: str
    filer_node: str
    resource_code: str
    owner_code: str
    owner_node: str
    data_items: _containers.RepeatedScalarFieldContainer[str]
    kind: str
    evidence: str
    key_items: _containers.RepeatedScalarFieldContainer[str]
    sealed_key: bytes
    state: str
    reason: str
    version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    deadline: str
    overdue: bool
    history: _containers.RepeatedCompositeFieldContainer[_sharing_pb2.RequestEvent]
    at_node: str
    signer: str
    signature: bytes
    signer_cert: bytes
    key: _containers.ScalarMap[str, str]
    def __init__(self, correction_id: _Optional[str] = ..., filer_code: _Optional[str] = ..., filer_node: _Optional[str] = ..., resource_code: _Optional[str] = ..., owner_code: _Optional[str] = ..., owner_node: _Optional[str] = ..., data_items: _Optional[_Iterable[str]] = ..., kind: _Optional[str] = ..., evidence: _Optional[str] = ..., key_items: _Optional[_Iterable[str]] = ..., sealed_key: _Optional[bytes] = ..., state: _Optional[str] = ..., reason: _Optional[str] = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[str] = ..., overdue: _Optional[bool] = ..., history: _Optional[_Iterable[_Union[_sharing_pb2.RequestEvent, _Mapping]]] = ..., at_node: _Optional[str] = ..., signer: _Optional[str] = ..., signature: _Optional[bytes] = ..., signer_cert: _Optional[bytes] = ..., key: _Optional[_Mapping[str, str]] = ...) -> None: ...

class FileCorrectionRequest(_message.Message):
    __slots__ = ("filer_code", "resource_code", "data_items", "key", "kind", "evidence")
    class KeyEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FILER_CODE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    DATA_ITEMS_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    filer_code: str
    resource_code: str
    data_items: _containers.RepeatedScalarFieldContainer[str]
    key: _containers.ScalarMap[str, str]
    kind: str
    evidence: str
    def __init__(self, filer_code: _Optional[str] = ..., resource_code: _Optional[str] = ..., data_items: _Optional[_Iterable[str]] = ..., key: _Optional[_Mapping[str, str]] = ..., kind: _Optional[str] = ..., evidence: _Optional[str] = ...) -> None: ...

class AnswerCorrectionRequest(_message.Message):
    __slots__ = ("correction_id", "department_code", "outcome", "reason")
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    correction_id: str
    department_code: str
    outcome: str
    reason: str
    def __init__(self, correction_id: _Optional[str] = ..., department_code: _Optional[str] = ..., outcome: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class GetCorrectionRequest(_message.Message):
    __slots__ = ("correction_id", "department_code")
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    correction_id: str
    department_code: str
    def __init__(self, correction_id: _Optional[str] = ..., department_code: _Optional[str] = ...) -> None: ...

class ListCorrectionsRequest(_message.Message):
    __slots__ = ("filer_code", "owner_code", "state", "overdue_only", "page_size", "page_token")
    FILER_CODE_FIELD_NUMBER: _ClassVar[int]
    OWNER_CODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    filer_code: str
    owner_code: str
    state: str
    overdue_only: bool
    page_size: int
    page_token: str
    def __init__(self, filer_code: _Optional[str] = ..., owner_code: _Optional[str] = ..., state: _Optional[str] = ..., overdue_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCorrectionsResponse(_message.Message):
    __slots__ = ("corrections", "next_page_token")
    CORRECTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    corrections: _containers.RepeatedCompositeFieldContainer[Correction]
    next_page_token: str
    def __init__(self, corrections: _Optional[_Iterable[_Union[Correction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeliverCorrectionRequest(_message.Message):
    __slots__ = ("correction", "from_node")
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    FROM_NODE_FIELD_NUMBER: _ClassVar[int]
    correction: Correction
    from_node: str
    def __init__(self, correction: _Optional[_Union[Correction, _Mapping]] = ..., from_node: _Optional[str] = ...) -> None: ...

class DeliverCorrectionResponse(_message.Message):
    __slots__ = ("applied", "version")
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    version: int
    def __init__(self, applied: _Optional[bool] = ..., version: _Optional[int] = ...) -> None: ...
