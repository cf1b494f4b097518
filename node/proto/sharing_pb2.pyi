import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RequestEvent(_message.Message):
    __slots__ = ("version", "state", "actor", "at", "note", "maker")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    MAKER_FIELD_NUMBER: _ClassVar[int]
    version: int
    state: str
    actor: str
    at: _timestamp_pb2.Timestamp
    note: str
    maker: str
    def __init__(self, version: _Optional[int] = ..., state: _Optional[str] = ..., actor: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ..., maker: _Optional[str] = ...) -> None: ...

class SharingRequest(_message.Message):
    __slots__ = ("request_id", "consumer_code", "consumer_node", "resource_code", "owner_code", "owner_node", "purpose", "basis", "data_items", "share_type", "state", "reason", "version", "created_at", "updated_at", "deadline", "overdue", "history", "at_node", "row_filter", "valid_until", "signer", "signature", "signer_cert", "modes", "daily_quota", "rate", "maker", "escalated", "authority_code", "plain", "granted_items")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_CODE_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_NODE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    OWNER_CODE_FIELD_NUMBER: _ClassVar[int]
    OWNER_NODE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    DATA_ITEMS_FIELD_NUMBER: _ClassVar[int]
    SHARE_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    AT_NODE_FIELD_NUMBER: _ClassVar[int]
    ROW_FILTER_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIGNER_CERT_FIELD_NUMBER: _ClassVar[int]
    MODES_FIELD_NUMBER: _ClassVar[int]
    DAILY_QUOTA_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    MAKER_FIELD_NUMBER: _ClassVar[int]
    ESCALATED_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_CODE_FIELD_NUMBER: _ClassVar[int]
    PLAIN_FIELD_NUMBER: _ClassVar[int]
    GRANTED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    consumer_code: str
    consumer_node: str
    resource_code: str
    owner_code: str
    owner_node: str
    purpose: str
    basis: str
    data_items: _containers.RepeatedScalarFieldContainer[str]
    share_type: str
    state: str
    reason: str
    version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    deadline: str
    overdue: bool
    history: _containers.RepeatedCompositeFieldContainer[RequestEvent]
    at_node: str
    row_filter: RowFilter
    valid_until: str
    signer: str
    signature: bytes
    signer_cert: bytes
    modes: _containers.RepeatedScalarFieldContainer[str]
    daily_quota: int
    rate: int
    maker: str
    escalated: bool
    authority_code: str
    plain: _containers.RepeatedScalarFieldContainer[str]
    granted_items: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., consumer_code: _Optional[str] = ..., consumer_node: _Optional[str] = ..., resource_code: _Optional[str] = ..., owner_code: _Optional[str] = ..., owner_node: _Optional[str] = ..., purpose: _Optional[str] = ..., basis: _Optional[str] = ..., data_items: _Optional[_Iterable[str]] = ..., share_type: _Optional[str] = ..., state: _Optional[str] = ..., reason: _Optional[str] = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline: _Optional[str] = ..., overdue: _Optional[bool] = ..., history: _Optional[_Iterable[_Union[RequestEvent, _Mapping]]] = ..., at_node: _Optional[str] = ..., row_filter: _Optional[_Union[RowFilter, _Mapping]] = ..., valid_until: _Optional[str] = ..., signer: _Optional[str] = ..., signature: _Optional[bytes] = ..., signer_cert: _Optional[bytes] = ..., modes: _Optional[_Iterable[str]] = ..., daily_quota: _Optional[int] = ..., rate: _Optional[int] = ..., maker: _Optional[str] = ..., escalated: _Optional[bool] = ..., authority_code: _Optional[str] = ..., plain: _Optional[_Iterable[str]] = ..., granted_items: _Optional[_Iterable[str]] = ...) -> None: ...

class RowFilter(_message.Message):
    __slots__ = ("column", "prefix")
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    column: str
    prefix: str
    def __init__(self, column: _Optional[str] = ..., prefix: _Optional[str] = ...) -> None: ...

class SubmitRequestRequest(_message.Message):
    __slots__ = ("consumer_code", "resource_code", "purpose", "basis", "data_items", "modes")
    CONSUMER_CODE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    DATA_ITEMS_FIELD_NUMBER: _ClassVar[int]
    MODES_FIELD_NUMBER: _ClassVar[int]
    consumer_code: str
    resource_code: str
    purpose: str
    basis: str
    data_items: _containers.RepeatedScalarFieldContainer[str]
    modes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, consumer_code: _Optional[str] = ..., resource_code: _Optional[str] = ..., purpose: _Optional[str] = ..., basis: _Optional[str] = ..., data_items: _Optional[_Iterable[str]] = ..., modes: _Optional[_Iterable[str]] = ...) -> None: ...

class GetRequestRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class ListRequestsRequest(_message.Message):
    __slots__ = ("consumer_code", "owner_code", "state", "overdue_only", "page_size", "page_token", "authority_code", "inbox")
    CONSUMER_CODE_FIELD_NUMBER: _ClassVar[int]
    OWNER_CODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_CODE_FIELD_NUMBER: _ClassVar[int]
    INBOX_FIELD_NUMBER: _ClassVar[int]
    consumer_code: str
    owner_code: str
    state: str
    overdue_only: bool
    page_size: int
    page_token: str
    authority_code: str
    inbox: str
    def __init__(self, consumer_code: _Optional[str] = ..., owner_code: _Optional[str] = ..., state: _Optional[str] = ..., overdue_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., authority_code: _Optional[str] = ..., inbox: _Optional[str] = ...) -> None: ...

class ListRequestsResponse(_message.Message):
    __slots__ = ("requests", "next_page_token")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[SharingRequest]
    next_page_token: str
    def __init__(self, requests: _Optional[_Iterable[_Union[SharingRequest, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DecideRequestRequest(_message.Message):
    __slots__ = ("request_id", "department_code", "approve", "reason", "row_filter", "valid_until", "modes", "daily_quota", "rate", "plain", "items")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ROW_FILTER_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    MODES_FIELD_NUMBER: _ClassVar[int]
    DAILY_QUOTA_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    PLAIN_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    department_code: str
    approve: bool
    reason: str
    row_filter: RowFilter
    valid_until: str
    modes: _containers.RepeatedScalarFieldContainer[str]
    daily_quota: int
    rate: int
    plain: _containers.RepeatedScalarFieldContainer[str]
    items: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., department_code: _Optional[str] = ..., approve: _Optional[bool] = ..., reason: _Optional[str] = ..., row_filter: _Optional[_Union[RowFilter, _Mapping]] = ..., valid_until: _Optional[str] = ..., modes: _Optional[_Iterable[str]] = ..., daily_quota: _Optional[int] = ..., rate: _Optional[int] = ..., plain: _Optional[_Iterable[str]] = ..., items: _Optional[_Iterable[str]] = ...) -> None: ...

class WithdrawRequestRequest(_message.Message):
    __slots__ = ("request_id", "consumer_code", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    consumer_code: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., consumer_code: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReviewRequestRequest(_message.Message):
    __slots__ = ("request_id", "department_code", "decision", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    department_code: str
    decision: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., department_code: _Optional[str] = ..., decision: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ResubmitRequestRequest(_message.Message):
    __slots__ = ("request_id", "consumer_code", "purpose", "basis", "data_items")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_CODE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    DATA_ITEMS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    consumer_code: str
    purpose: str
    basis: str
    data_items: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., consumer_code: _Optional[str] = ..., purpose: _Optional[str] = ..., basis: _Optional[str] = ..., data_items: _Optional[_Iterable[str]] = ...) -> None: ...

class ExtendRequestRequest(_message.Message):
    __slots__ = ("request_id", "department_code", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    department_code: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., department_code: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ObjectRequestRequest(_message.Message):
    __slots__ = ("request_id", "consumer_code", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    consumer_code: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., consumer_code: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CoordinateRequestRequest(_message.Message):
    __slots__ = ("request_id", "department_code", "decision", "reason", "row_filter", "valid_until", "modes", "daily_quota", "rate", "items")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ROW_FILTER_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    MODES_FIELD_NUMBER: _ClassVar[int]
    DAILY_QUOTA_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    department_code: str
    decision: str
    reason: str
    row_filter: RowFilter
    valid_until: str
    modes: _containers.RepeatedScalarFieldContainer[str]
    daily_quota: int
    rate: int
    items: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., department_code: _Optional[str] = ..., decision: _Optional[str] = ..., reason: _Optional[str] = ..., row_filter: _Optional[_Union[RowFilter, _Mapping]] = ..., valid_until: _Optional[str] = ..., modes: _Optional[_Iterable[str]] = ..., daily_quota: _Optional[int] = ..., rate: _Optional[int] = ..., items: _Optional[_Iterable[str]] = ...) -> None: ...

class DeliverRequestRequest(_message.Message):
    __slots__ = ("request", "from_node")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    FROM_NODE_FIELD_NUMBER: _ClassVar[int]
    request: SharingRequest
    from_node: str
    def __init__(self, request: _Optional[_Union[SharingRequest, _Mapping]] = ..., from_node: _Optional[str] = ...) -> None: ...

class DeliverRequestResponse(_message.Message):
    __slots__ = ("applied", "version")
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    version: int
    def __init__(self, applied: _Optional[bool] = ..., version: _Optional[int] = ...) -> None: ...
