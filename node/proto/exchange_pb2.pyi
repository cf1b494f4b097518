import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FetchDataRequest(_message.Message):
    __slots__ = ("request_id", "consumer_code", "offset", "from_node")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_CODE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    FROM_NODE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    consumer_code: str
    offset: int
    from_node: str
    def __init__(self, request_id: _Optional[str] = ..., consumer_code: _Optional[str] = ..., offset: _Optional[int] = ..., from_node: _Optional[str] = ...) -> None: ...

class Row(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class DataChunk(_message.Message):
    __slots__ = ("columns", "rows", "total_rows", "sha256", "last", "expected_rows", "offset")
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROWS_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_ROWS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedScalarFieldContainer[str]
    rows: _containers.RepeatedCompositeFieldContainer[Row]
    total_rows: int
    sha256: str
    last: bool
    expected_rows: int
    offset: int
    def __init__(self, columns: _Optional[_Iterable[str]] = ..., rows: _Optional[_Iterable[_Union[Row, _Mapping]]] = ..., total_rows: _Optional[int] = ..., sha256: _Optional[str] = ..., last: _Optional[bool] = ..., expected_rows: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class MountResourceRequest(_message.Message):
    __slots__ = ("resource_code", "kind", "location", "table", "columns", "credential", "keys", "index", "personal")
    class ColumnsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PersonalEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    TABLE_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    PERSONAL_FIELD_NUMBER: _ClassVar[int]
    resource_code: str
    kind: str
    location: str
    table: str
    columns: _containers.ScalarMap[str, str]
    credential: str
    keys: _containers.RepeatedScalarFieldContainer[str]
    index: str
    personal: _containers.ScalarMap[str, str]
    def __init__(self, resource_code: _Optional[str] = ..., kind: _Optional[str] = ..., location: _Optional[str] = ..., table: _Optional[str] = ..., columns: _Optional[_Mapping[str, str]] = ..., credential: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ..., index: _Optional[str] = ..., personal: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Mount(_message.Message):
    __slots__ = ("resource_code", "kind", "location", "table", "columns", "credential", "source_columns", "mounted_at", "mounted_by", "origin", "keys", "personal")
    class ColumnsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PersonalEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    TABLE_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    MOUNTED_AT_FIELD_NUMBER: _ClassVar[int]
    MOUNTED_BY_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    PERSONAL_FIELD_NUMBER: _ClassVar[int]
    resource_code: str
    kind: str
    location: str
    table: str
    columns: _containers.ScalarMap[str, str]
    credential: str
    source_columns: _containers.RepeatedScalarFieldContainer[str]
    mounted_at: _timestamp_pb2.Timestamp
    mounted_by: str
    origin: str
    keys: _containers.RepeatedScalarFieldContainer[str]
    personal: _containers.ScalarMap[str, str]
    def __init__(self, resource_code: _Optional[str] = ..., kind: _Optional[str] = ..., location: _Optional[str] = ..., table: _Optional[str] = ..., columns: _Optional[_Mapping[str, str]] = ..., credential: _Optional[str] = ..., source_columns: _Optional[_Iterable[str]] = ..., mounted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., mounted_by: _Optional[str] = ..., origin: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ..., personal: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GetMountRequest(_message.Message):
    __slots__ = ("resource_code",)
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    resource_code: str
    def __init__(self, resource_code: _Optional[str] = ...) -> None: ...

class ExchangeRecord(_message.Message):
    __slots__ = ("request_id", "role", "consumer_code", "owner_code", "resource_code", "offset", "rows", "bytes", "sha256", "started", "finished", "outcome", "detail")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_CODE_FIELD_NUMBER: _ClassVar[int]
    OWNER_CODE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_CODE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    role: str
    consumer_code: str
    owner_code: str
    resource_code: str
    offset: int
    rows: int
    bytes: int
    sha256: str
    started: _timestamp_pb2.Timestamp
    finished: _timestamp_pb2.Timestamp
    outcome: str
    detail: str
    def __init__(self, request_id: _Optional[str] = ..., role: _Optional[str] = ..., consumer_code: _Optional[str] = ..., owner_code: _Optional[str] = ..., resource_code: _Optional[str] = ..., offset: _Optional[int] = ..., rows: _Optional[int] = ..., bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., started: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outcome: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class ListExchangesRequest(_message.Message):
    __slots__ = ("request_id", "limit")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    limit: int
    def __init__(self, request_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListExchangesResponse(_message.Message):
    __slots__ = ("exchanges",)
    EXCHANGES_FIELD_NUMBER: _ClassVar[int]
    exchanges: _containers.RepeatedCompositeFieldContainer[ExchangeRecord]
    def __init__(self, exchanges: _Optional[_Iterable[_Union[ExchangeRecord, _Mapping]]] = ...) -> None: ...

class Key(_message.Message):
    __slots__ = ("items",)
    class ItemsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.ScalarMap[str, str]
    def __init__(self, items: _Optional[_Mapping[str, str]] = ...) -> None: ...

class QueryRequest(_message.Message):
    __slots__ = ("request_id", "consumer_code", "key", "from_node", "keys", "call_id", "call_ids")
    class KeyEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_CODE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    FROM_NODE_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_IDS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    consumer_code: str
    key: _containers.ScalarMap[str, str]
    from_node: str
    keys: _containers.RepeatedCompositeFieldContainer[Key]
    call_id: str
    call_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., consumer_code: _Optional[str] = ..., key: _Optional[_Mapping[str, str]] = ..., from_node: _Optional[str] = ..., keys: _Optional[_Iterable[_Union[Key, _Mapping]]] = ..., call_id: _Optional[str] = ..., call_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Answer(_message.Message):
    __slots__ = ("rows",)
    ROWS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[Row]
    def __init__(self, rows: _Optional[_Iterable[_Union[Row, _Mapping]]] = ...) -> None: ...

class QueryResponse(_message.Message):
    __slots__ = ("columns", "rows", "answers")
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedScalarFieldContainer[str]
    rows: _containers.RepeatedCompositeFieldContainer[Row]
    answers: _containers.RepeatedCompositeFieldContainer[Answer]
    def __init__(self, columns: _Optional[_Iterable[str]] = ..., rows: _Optional[_Iterable[_Union[Row, _Mapping]]] = ..., answers: _Optional[_Iterable[_Union[Answer, _Mapping]]] = ...) -> None: ...

class Claim(_message.Message):
    __slots__ = ("key", "claims")
    class KeyEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ClaimsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    key: _containers.ScalarMap[str, str]
    claims: _containers.ScalarMap[str, str]
    def __init__(self, key: _Optional[_Mapping[str, str]] = ..., claims: _Optional[_Mapping[str, str]] = ...) -> None: ...

class VerifyClaimsRequest(_message.Message):
    __slots__ = ("request_id", "consumer_code", "key", "claims", "from_node", "batch", "call_id", "call_ids")
    class KeyEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ClaimsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_CODE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    FROM_NODE_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_IDS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    consumer_code: str
    key: _containers.ScalarMap[str, str]
    claims: _containers.ScalarMap[str, str]
    from_node: str
    batch: _containers.RepeatedCompositeFieldContainer[Claim]
    call_id: str
    call_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., consumer_code: _Optional[str] = ..., key: _Optional[_Mapping[str, str]] = ..., claims: _Optional[_Mapping[str, str]] = ..., from_node: _Optional[str] = ..., batch: _Optional[_Iterable[_Union[Claim, _Mapping]]] = ..., call_id: _Optional[str] = ..., call_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Verdict(_message.Message):
    __slots__ = ("results", "overall")
    class ResultsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    OVERALL_FIELD_NUMBER: _ClassVar[int]
    results: _containers.ScalarMap[str, str]
    overall: str
    def __init__(self, results: _Optional[_Mapping[str, str]] = ..., overall: _Optional[str] = ...) -> None: ...

class VerifyClaimsResponse(_message.Message):
    __slots__ = ("results", "overall", "verdicts")
    class ResultsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    OVERALL_FIELD_NUMBER: _ClassVar[int]
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.ScalarMap[str, str]
    overall: str
    verdicts: _containers.RepeatedCompositeFieldContainer[Verdict]
    def __init__(self, results: _Optional[_Mapping[str, str]] = ..., overall: _Optional[str] = ..., verdicts: _Optional[_Iterable[_Union[Verdict, _Mapping]]] = ...) -> None: ...

class CallCount(_message.Message):
    __slots__ = ("request_id", "role", "mode", "hour", "calls", "keys", "hits", "not_found", "mismatches", "refusals", "millis")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    HOUR_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    NOT_FOUND_FIELD_NUMBER: _ClassVar[int]
    MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    REFUSALS_FIELD_NUMBER: _ClassVar[int]
    MILLIS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    role: str
    mode: str
    hour: str
    calls: int
    keys: int
    hits: int
    not_found: int
    mismatches: int
    refusals: int
    millis: int
    def __init__(self, request_id: _Optional[str] = ..., role: _Optional[str] = ..., mode: _Optional[str] = ..., hour: _Optional[str] = ..., calls: _Optional[int] = ..., keys: _Optional[int] = ..., hits: _Optional[int] = ..., not_found: _Optional[int] = ..., mismatches: _Optional[int] = ..., refusals: _Optional[int] = ..., millis: _Optional[int] = ...) -> None: ...

class ListCallsRequest(_message.Message):
    __slots__ = ("request_id", "limit", "department_code")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    DEPARTMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    limit: int
    department_code: str
    def __init__(self, request_id: _Optional[str] = ..., limit: _Optional[int] = ..., department_code: _Optional[str] = ...) -> None: ...

class ListCallsResponse(_message.Message):
    __slots__ = ("counts",)
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.RepeatedCompositeFieldContainer[CallCount]
    def __init__(self, counts: _Optional[_Iterable[_Union[CallCount, _Mapping]]] = ...) -> None: ...
