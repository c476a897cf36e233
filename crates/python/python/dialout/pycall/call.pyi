from typing import Any, List, Mapping, Optional

class Call:
    channel: Any
    callerid: Any
    variables: Optional[Mapping[Any, Any]]
    account: Any
    wait_time: Optional[int]
    retry_time: Optional[int]
    max_retries: Optional[int]
    def __init__(
        self,
        channel: str,
        callerid: Optional[str] = None,
        variables: Optional[Mapping[Any, Any]] = None,
        account: Optional[str] = None,
        wait_time: Optional[int] = None,
        retry_time: Optional[int] = None,
        max_retries: Optional[int] = None,
    ) -> None: ...
    def is_valid(self) -> bool: ...
    def render(self) -> List[str]: ...
