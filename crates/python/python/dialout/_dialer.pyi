# Type stubs for the dialer half of ``dialout`` (the classes are native, in dialout._native).
import datetime
import enum
import os
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Union

_Instant = Union[datetime.datetime, str]
_Path = Union[str, "os.PathLike[str]"]

class State(enum.IntEnum):
    WAITING = -1
    NOT_ASSIGNED = 0
    READY = 1
    RESCHEDULED_BY_DIALER = 2
    CALL_IN_PROGRESS = 3
    HANGUP = 4
    DONE = 5
    RESCHEDULED = 6
    ANSWERED_COMPLETE = 7
    ANSWERED_PARTIAL = 8
    UNREACHABLE = 9
    DECLINED = 10
    UNANSWERED = 11
    ERROR_UPDATE = 66
    DEBUG = 77
    ERROR = 88
    ERROR_RETRY = 99

class DialerError(Exception):
    kind: str
    message: str
    field: Optional[str]
    def __init__(self, message: str, field: Optional[str] = ...) -> None: ...
    def as_dict(self) -> Dict[str, Any]: ...

class InvalidInput(DialerError, ValueError): ...
class Refused(DialerError): ...
class Failed(DialerError): ...

class Message:
    """A stored message (a snapshot), with pymess's field names."""
    @property
    def id(self) -> str: ...
    @property
    def recipient(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def state(self) -> State: ...
    @property
    def is_final_state(self) -> bool: ...
    @property
    def failed(self) -> bool: ...
    @property
    def error(self) -> Optional[str]: ...
    @property
    def extra_data(self) -> Dict[str, Any]: ...
    @property
    def extra_sender_data(self) -> Dict[str, Any]: ...
    @property
    def tag(self) -> Optional[str]: ...
    @property
    def related_objects(self) -> List[str]: ...
    @property
    def template_slug(self) -> Optional[str]: ...
    @property
    def template_id(self) -> Optional[int]: ...
    @property
    def backend(self) -> str: ...
    @property
    def priority(self) -> int: ...
    @property
    def predictive(self) -> bool: ...
    @property
    def is_autodialer(self) -> bool: ...
    @property
    def created_at(self) -> datetime.datetime: ...
    @property
    def changed_at(self) -> datetime.datetime: ...
    @property
    def sent_at(self) -> Optional[datetime.datetime]: ...
    @property
    def not_before(self) -> Optional[datetime.datetime]: ...
    @property
    def next_attempt_at(self) -> Optional[datetime.datetime]: ...
    @property
    def attempts(self) -> int: ...
    @property
    def idempotency_key(self) -> Optional[str]: ...
    @property
    def resent_from(self) -> Optional[str]: ...
    @property
    def time_zone(self) -> Optional[str]: ...
    @property
    def existing(self) -> bool: ...
    @property
    def digits(self) -> Optional[str]: ...
    @property
    def answer(self) -> Optional[str]: ...
    @property
    def answered_by(self) -> Optional[str]: ...
    @property
    def answered_at(self) -> Optional[datetime.datetime]: ...
    @property
    def gather(self) -> Optional[Dict[str, Any]]: ...
    @property
    def machine(self) -> Optional[str]: ...

class HistoryEntry:
    @property
    def at(self) -> datetime.datetime: ...
    @property
    def from_state(self) -> Optional[State]: ...
    @property
    def state(self) -> State: ...
    @property
    def reason(self) -> str: ...

class Template:
    @property
    def id(self) -> int: ...
    @property
    def slug(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def is_allowed_duplicate_messages(self) -> bool: ...
    @property
    def created_at(self) -> datetime.datetime: ...
    @property
    def changed_at(self) -> datetime.datetime: ...

class MessagePages(Iterator[List[Message]]):
    def __iter__(self) -> "MessagePages": ...
    def __next__(self) -> List[Message]: ...

class Dialer:
    """The dialer in process; safe to share between threads."""
    def __init__(self, database_url: Optional[str] = ..., config: Optional[_Path] = ...) -> None: ...
    def send(
        self,
        recipient: str,
        content: str,
        related_objects: Optional[Iterable[str]] = ...,
        tag: Optional[str] = ...,
        *,
        priority: Optional[int] = ...,
        at: Optional[_Instant] = ...,
        queued: bool = ...,
        idempotency_key: Optional[str] = ...,
        time_zone: Optional[str] = ...,
        backend: Optional[str] = ...,
        predictive: bool = ...,
        is_autodialer: Optional[bool] = ...,
        allow_duplicate: bool = ...,
        send_immediately: Optional[bool] = ...,
        gather: Optional[Mapping[str, Any]] = ...,
        machine: Optional[str] = ...,
        **extra_data: Any,
    ) -> Message: ...
    def send_template(
        self,
        recipient: str,
        slug: str,
        context_data: Optional[Mapping[str, Any]] = ...,
        related_objects: Optional[Iterable[str]] = ...,
        tag: Optional[str] = ...,
        *,
        priority: Optional[int] = ...,
        at: Optional[_Instant] = ...,
        queued: bool = ...,
        idempotency_key: Optional[str] = ...,
        time_zone: Optional[str] = ...,
        backend: Optional[str] = ...,
        predictive: bool = ...,
        is_autodialer: Optional[bool] = ...,
        allow_duplicate: bool = ...,
        send_immediately: Optional[bool] = ...,
        extra_data: Optional[Mapping[str, Any]] = ...,
        gather: Optional[Mapping[str, Any]] = ...,
        machine: Optional[str] = ...,
    ) -> Message: ...
    def send_many(self, requests: Iterable[Mapping[str, Any]]) -> List[Message]: ...
    def message(self, id: str) -> Optional[Message]: ...
    def history(self, id: str) -> List[HistoryEntry]: ...
    def messages(
        self,
        *,
        state: Union[State, int, str, None] = ...,
        tag: Optional[str] = ...,
        related: Optional[str] = ...,
        recipient: Optional[str] = ...,
        since: Optional[_Instant] = ...,
        until: Optional[_Instant] = ...,
        backend: Optional[str] = ...,
        page_size: int = ...,
    ) -> MessagePages: ...
    def cancel(self, id: str) -> Message: ...
    def resend(self, id: str) -> Message: ...
    def add_template(
        self,
        slug: str,
        body: str,
        is_active: bool = ...,
        is_allowed_duplicate_messages: bool = ...,
        *,
        gather: Optional[Mapping[str, Any]] = ...,
        machine: Optional[str] = ...,
    ) -> Template: ...
    def update_template(
        self,
        slug: str,
        *,
        body: Optional[str] = ...,
        is_active: Optional[bool] = ...,
        is_allowed_duplicate_messages: Optional[bool] = ...,
        gather: Optional[Mapping[str, Any]] = ...,
        machine: Optional[str] = ...,
    ) -> Template: ...
    def template(self, slug: str) -> Optional[Template]: ...
    def templates(self) -> List[Template]: ...
    def remove_template(self, slug: str) -> None: ...
    def worker(
        self,
        *,
        once: bool = ...,
        seconds: Optional[float] = ...,
        interval: Optional[float] = ...,
        status_interval: Optional[float] = ...,
        no_status: bool = ...,
        batch_size: Optional[int] = ...,
    ) -> Dict[str, Any]: ...
