from node.proto import cascade_pb2 as _cascade_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PeerStatus(_message.Message):
    __slots__ = ("node_id", "role", "address", "cursor", "head_seq", "behind", "seconds_since_success", "last_error", "failures", "backoff_seconds", "next_pull_in", "entries_at_hub", "entries_at_peer", "conflicts", "refused", "pulling", "state", "resyncs", "pulling_seconds", "deliveries_waiting", "delivery_error", "overdue_seconds", "name")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    BEHIND_FIELD_NUMBER: _ClassVar[int]
    SECONDS_SINCE_SUCCESS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_SECONDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PULL_IN_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_AT_HUB_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_AT_PEER_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    PULLING_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESYNCS_FIELD_NUMBER: _ClassVar[int]
    PULLING_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_WAITING_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ERROR_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    role: str
    address: str
    cursor: _cascade_pb2.Cursor
    head_seq: int
    behind: int
    seconds_since_success: float
    last_error: str
    failures: int
    backoff_seconds: float
    next_pull_in: float
    entries_at_hub: int
    entries_at_peer: int
    conflicts: int
    refused: int
    pulling: bool
    state: str
    resyncs: int
    pulling_seconds: float
    deliveries_waiting: int
    delivery_error: str
    overdue_seconds: float
    name: str
    def __init__(self, node_id: _Optional[str] = ..., role: _Optional[str] = ..., address: _Optional[str] = ..., cursor: _Optional[_Union[_cascade_pb2.Cursor, _Mapping]] = ..., head_seq: _Optional[int] = ..., behind: _Optional[int] = ..., seconds_since_success: _Optional[float] = ..., last_error: _Optional[str] = ..., failures: _Optional[int] = ..., backoff_seconds: _Optional[float] = ..., next_pull_in: _Optional[float] = ..., entries_at_hub: _Optional[int] = ..., entries_at_peer: _Optional[int] = ..., conflicts: _Optional[int] = ..., refused: _Optional[int] = ..., pulling: _Optional[bool] = ..., state: _Optional[str] = ..., resyncs: _Optional[int] = ..., pulling_seconds: _Optional[float] = ..., deliveries_waiting: _Optional[int] = ..., delivery_error: _Optional[str] = ..., overdue_seconds: _Optional[float] = ..., name: _Optional[str] = ...) -> None: ...

class Conflict(_message.Message):
    __slots__ = ("peer", "resource_code", "held_by", "reason", "at")
    PEER_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    HELD_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    peer: str
    resource_code: str
    held_by: str
    reason: str
    at: str
    def __init__(self, peer: _Optional[str] = ..., resource_code: _Optional[str] = ..., held_by: _Optional[str] = ..., reason: _Optional[str] = ..., at: _Optional[str] = ...) -> None: ...

class NodeStatus(_message.Message):
    __slots__ = ("node_id", "role", "region_code", "head", "entries", "live_entries", "peers", "conflicts", "uptime_seconds", "audit_seq", "audit_hash", "secure", "refused_versions", "name", "requests_overdue", "requests_escalated", "cache", "readers")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    LIVE_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AUDIT_SEQ_FIELD_NUMBER: _ClassVar[int]
    AUDIT_HASH_FIELD_NUMBER: _ClassVar[int]
    SECURE_FIELD_NUMBER: _ClassVar[int]
    REFUSED_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_OVERDUE_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_ESCALATED_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    READERS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    role: str
    region_code: str
    head: _cascade_pb2.Cursor
    entries: int
    live_entries: int
    peers: _containers.RepeatedCompositeFieldContainer[PeerStatus]
    conflicts: _containers.RepeatedCompositeFieldContainer[Conflict]
    uptime_seconds: float
    audit_seq: int
    audit_hash: str
    secure: bool
    refused_versions: int
    name: str
    requests_overdue: int
    requests_escalated: int
    cache: CacheWarming
    readers: Readers
    def __init__(self, node_id: _Optional[str] = ..., role: _Optional[str] = ..., region_code: _Optional[str] = ..., head: _Optional[_Union[_cascade_pb2.Cursor, _Mapping]] = ..., entries: _Optional[int] = ..., live_entries: _Optional[int] = ..., peers: _Optional[_Iterable[_Union[PeerStatus, _Mapping]]] = ..., conflicts: _Optional[_Iterable[_Union[Conflict, _Mapping]]] = ..., uptime_seconds: _Optional[float] = ..., audit_seq: _Optional[int] = ..., audit_hash: _Optional[str] = ..., secure: _Optional[bool] = ..., refused_versions: _Optional[int] = ..., name: _Optional[str] = ..., requests_overdue: _Optional[int] = ..., requests_escalated: _Optional[int] = ..., cache: _Optional[_Union[CacheWarming, _Mapping]] = ..., readers: _Optional[_Union[Readers, _Mapping]] = ...) -> None: ...

class Readers(_message.Message):
    __slots__ = ("wanted", "serving", "waiting_for_size", "min_entries", "answered")
    WANTED_FIELD_NUMBER: _ClassVar[int]
    SERVING_FIELD_NUMBER: _ClassVar[int]
    WAITING_FOR_SIZE_FIELD_NUMBER: _ClassVar[int]
    MIN_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    wanted: int
    serving: int
    waiting_for_size: bool
    min_entries: int
    answered: int
    def __init__(self, wanted: _Optional[int] = ..., serving: _Optional[int] = ..., waiting_for_size: _Optional[bool] = ..., min_entries: _Optional[int] = ..., answered: _Optional[int] = ...) -> None: ...

class CacheWarming(_message.Message):
    __slots__ = ("state", "tables_done", "tables", "mib_read", "seconds")
    STATE_FIELD_NUMBER: _ClassVar[int]
    TABLES_DONE_FIELD_NUMBER: _ClassVar[int]
    TABLES_FIELD_NUMBER: _ClassVar[int]
    MIB_READ_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    state: str
    tables_done: int
    tables: int
    mib_read: int
    seconds: float
    def __init__(self, state: _Optional[str] = ..., tables_done: _Optional[int] = ..., tables: _Optional[int] = ..., mib_read: _Optional[int] = ..., seconds: _Optional[float] = ...) -> None: ...

class SyncNowRequest(_message.Message):
    __slots__ = ("peer", "wait")
    PEER_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    peer: str
    wait: bool
    def __init__(self, peer: _Optional[str] = ..., wait: _Optional[bool] = ...) -> None: ...

class SyncNowResponse(_message.Message):
    __slots__ = ("started", "peers", "finished")
    STARTED_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    started: _containers.RepeatedScalarFieldContainer[str]
    peers: _containers.RepeatedCompositeFieldContainer[PeerStatus]
    finished: bool
    def __init__(self, started: _Optional[_Iterable[str]] = ..., peers: _Optional[_Iterable[_Union[PeerStatus, _Mapping]]] = ..., finished: _Optional[bool] = ...) -> None: ...

class VerifyRequest(_message.Message):
    __slots__ = ("peer",)
    PEER_FIELD_NUMBER: _ClassVar[int]
    peer: str
    def __init__(self, peer: _Optional[str] = ...) -> None: ...

class PeerVerdict(_message.Message):
    __slots__ = ("peer", "equal", "at_peer", "at_hub", "error")
    PEER_FIELD_NUMBER: _ClassVar[int]
    EQUAL_FIELD_NUMBER: _ClassVar[int]
    AT_PEER_FIELD_NUMBER: _ClassVar[int]
    AT_HUB_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    peer: str
    equal: bool
    at_peer: _cascade_pb2.Digest
    at_hub: _cascade_pb2.Digest
    error: str
    def __init__(self, peer: _Optional[str] = ..., equal: _Optional[bool] = ..., at_peer: _Optional[_Union[_cascade_pb2.Digest, _Mapping]] = ..., at_hub: _Optional[_Union[_cascade_pb2.Digest, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ("peers",)
    PEERS_FIELD_NUMBER: _ClassVar[int]
    peers: _containers.RepeatedCompositeFieldContainer[PeerVerdict]
    def __init__(self, peers: _Optional[_Iterable[_Union[PeerVerdict, _Mapping]]] = ...) -> None: ...

class ScorecardRequest(_message.Message):
    __slots__ = ("from_date", "to_date", "own")
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    OWN_FIELD_NUMBER: _ClassVar[int]
    from_date: str
    to_date: str
    own: bool
    def __init__(self, from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., own: _Optional[bool] = ...) -> None: ...

class ScoreRow(_message.Message):
    __slots__ = ("node_id", "department_code", "department_name", "entries", "unconditional", "conditional", "not_shared", "requests_received", "answered", "answered_in_time", "median_hours_to_answer", "overdue_now", "requests_made", "rows_provided", "exchanges_provided", "rows_received", "exchanges_received", "granted", "rejected", "awaiting", "reviewed", "reviewed_in_time", "extensions", "objections", "objections_upheld", "objections_shared", "shareable", "mounted", "sources_checked", "sources_fresh", "in_time_rate", "granted_rate", "mounted_rate", "fresh_rate", "duplicate_collections", "quality_score", "corrections_received", "corrections_answered", "corrections_in_time", "corrections_corrected", "corrected_rate", "calls_provided", "calls_made")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_NAME_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    UNCONDITIONAL_FIELD_NUMBER: _ClassVar[int]
    CONDITIONAL_FIELD_NUMBER: _ClassVar[int]
    NOT_SHARED_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_IN_TIME_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_HOURS_TO_ANSWER_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_NOW_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_MADE_FIELD_NUMBER: _ClassVar[int]
    ROWS_PROVIDED_FIELD_NUMBER: _ClassVar[int]
    EXCHANGES_PROVIDED_FIELD_NUMBER: _ClassVar[int]
    ROWS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    EXCHANGES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    AWAITING_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_IN_TIME_FIELD_NUMBER: _ClassVar[int]
    EXTENSIONS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIONS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIONS_UPHELD_FIELD_NUMBER: _ClassVar[int]
    OBJECTIONS_SHARED_FIELD_NUMBER: _ClassVar[int]
    SHAREABLE_FIELD_NUMBER: _ClassVar[int]
    MOUNTED_FIELD_NUMBER: _ClassVar[int]
    SOURCES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FRESH_FIELD_NUMBER: _ClassVar[int]
    IN_TIME_RATE_FIELD_NUMBER: _ClassVar[int]
    GRANTED_RATE_FIELD_NUMBER: _ClassVar[int]
    MOUNTED_RATE_FIELD_NUMBER: _ClassVar[int]
    FRESH_RATE_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_SCORE_FIELD_NUMBER: _ClassVar[int]
    CORRECTIONS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    CORRECTIONS_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    CORRECTIONS_IN_TIME_FIELD_NUMBER: _ClassVar[int]
    CORRECTIONS_CORRECTED_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_RATE_FIELD_NUMBER: _ClassVar[int]
    CALLS_PROVIDED_FIELD_NUMBER: _ClassVar[int]
    CALLS_MADE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    department_code: str
    department_name: str
    entries: int
    unconditional: int
    conditional: int
    not_shared: int
    requests_received: int
    answered: int
    answered_in_time: int
    median_hours_to_answer: float
    overdue_now: int
    requests_made: int
    rows_provided: int
    exchanges_provided: int
    rows_received: int
    exchanges_received: int
    granted: int
    rejected: int
    awaiting: int
    reviewed: int
    reviewed_in_time: int
    extensions: int
    objections: int
    objections_upheld: int
    objections_shared: int
    shareable: int
    mounted: int
    sources_checked: int
    sources_fresh: int
    in_time_rate: float
    granted_rate: float
    mounted_rate: float
    fresh_rate: float
    duplicate_collections: int
    quality_score: float
    corrections_received: int
    corrections_answered: int
    corrections_in_time: int
    corrections_corrected: int
    corrected_rate: float
    calls_provided: int
    calls_made: int
    def __init__(self, node_id: _Optional[str] = ..., department_code: _Optional[str] = ..., department_name: _Optional[str] = ..., entries: _Optional[int] = ..., unconditional: _Optional[int] = ..., conditional: _Optional[int] = ..., not_shared: _Optional[int] = ..., requests_received: _Optional[int] = ..., answered: _Optional[int] = ..., answered_in_time: _Optional[int] = ..., median_hours_to_answer: _Optional[float] = ..., overdue_now: _Optional[int] = ..., requests_made: _Optional[int] = ..., rows_provided: _Optional[int] = ..., exchanges_provided: _Optional[int] = ..., rows_received: _Optional[int] = ..., exchanges_received: _Optional[int] = ..., granted: _Optional[int] = ..., rejected: _Optional[int] = ..., awaiting: _Optional[int] = ..., reviewed: _Optional[int] = ..., reviewed_in_time: _Optional[int] = ..., extensions: _Optional[int] = ..., objections: _Optional[int] = ..., objections_upheld: _Optional[int] = ..., objections_shared: _Optional[int] = ..., shareable: _Optional[int] = ..., mounted: _Optional[int] = ..., sources_checked: _Optional[int] = ..., sources_fresh: _Optional[int] = ..., in_time_rate: _Optional[float] = ..., granted_rate: _Optional[float] = ..., mounted_rate: _Optional[float] = ..., fresh_rate: _Optional[float] = ..., duplicate_collections: _Optional[int] = ..., quality_score: _Optional[float] = ..., corrections_received: _Optional[int] = ..., corrections_answered: _Optional[int] = ..., corrections_in_time: _Optional[int] = ..., corrections_corrected: _Optional[int] = ..., corrected_rate: _Optional[float] = ..., calls_provided: _Optional[int] = ..., calls_made: _Optional[int] = ...) -> None: ...

class ScorecardResponse(_message.Message):
    __slots__ = ("departments", "nodes", "from_date", "to_date", "unreachable")
    DEPARTMENTS_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    UNREACHABLE_FIELD_NUMBER: _ClassVar[int]
    departments: _containers.RepeatedCompositeFieldContainer[ScoreRow]
    nodes: _containers.RepeatedCompositeFieldContainer[ScoreRow]
    from_date: str
    to_date: str
    unreachable: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, departments: _Optional[_Iterable[_Union[ScoreRow, _Mapping]]] = ..., nodes: _Optional[_Iterable[_Union[ScoreRow, _Mapping]]] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., unreachable: _Optional[_Iterable[str]] = ...) -> None: ...
